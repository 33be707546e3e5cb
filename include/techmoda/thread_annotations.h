// Clang's thread-safety annotations (-Wthread-safety, on in the sanitizer build): the compiler checks
// that a field marked GUARDED_BY(mu) is only touched with `mu` held. They compile to nothing elsewhere.
#pragma once

#if defined(__clang__)
#define TECHMODA_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define TECHMODA_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) TECHMODA_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY TECHMODA_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) TECHMODA_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) TECHMODA_THREAD_ANNOTATION(pt_guarded_by(x))
#define REQUIRES(...) TECHMODA_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) TECHMODA_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define REQUIRES_SHARED(...) TECHMODA_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) TECHMODA_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) TECHMODA_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) TECHMODA_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) TECHMODA_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) TECHMODA_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) TECHMODA_THREAD_ANNOTATION(assert_capability(x))
#define NO_THREAD_SAFETY_ANALYSIS TECHMODA_THREAD_ANNOTATION(no_thread_safety_analysis)
