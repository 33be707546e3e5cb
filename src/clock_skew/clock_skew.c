// The wall clock moved, for the clock-skew drill (`drills: {clock_skew: true}` and
// `catalogctl fault skew-clock`): an LD_PRELOAD library for a zone's Patroni (and the PostgreSQL it
// starts), detector and catalogd.
//
// It moves CLOCK_REALTIME (and CLOCK_REALTIME_COARSE), gettimeofday() and time() by the seconds
// written in the file that TECHMODA_CLOCK_OFFSET_FILE names ("+90", "-30", "0"), read again at most
// once a second. Every other clock and every sleep stays the kernel's, as on a host whose clock was
// set wrong: timeouts and intervals measured on the monotonic clock do not move.
//
// Why not Debian's libfaketime 0.9.10: with the monotonic clocks left alone
// (FAKETIME_DONT_FAKE_MONOTONIC=1) its clock_nanosleep() hands the kernel a negative time, so every
// time.sleep() of Python 3.11 (Patroni) fails with EINVAL (libfaketime issue 426); with them faked
// too, a change of the offset moves CLOCK_MONOTONIC and threads waiting on it hang.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*ClockGettime)(clockid_t, struct timespec*);

static ClockGettime real_clock_gettime;
static const char* offset_file;
static _Atomic long long offset_ns;
static _Atomic long long next_read_ns;  // CLOCK_MONOTONIC_COARSE: when the file is read again

static void Resolve(void) {
  // POSIX's way to store dlsym's object pointer into a function pointer (ISO C has none).
  if (!real_clock_gettime) *(void**)&real_clock_gettime = dlsym(RTLD_NEXT, "clock_gettime");
}

__attribute__((constructor)) static void Init(void) {
  Resolve();
  offset_file = getenv("TECHMODA_CLOCK_OFFSET_FILE");
}

// "+90", "-30", "12.5": seconds, as a signed decimal; anything else, or no file, is 0.
static long long ReadOffsetNs(void) {
  int fd = open(offset_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[64];
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  const char* p = text;
  int sign = 1;
  if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
  long long whole = 0, fraction = 0, scale = 1000000000LL;
  for (; *p >= '0' && *p <= '9' && whole < 1000000000LL; ++p) whole = whole * 10 + (*p - '0');
  if (*p == '.')
    for (++p; *p >= '0' && *p <= '9' && scale > 1; ++p) fraction += (*p - '0') * (scale /= 10);
  return sign * (whole * 1000000000LL + fraction);
}

static long long OffsetNs(void) {
  struct timespec now;
  if (real_clock_gettime(CLOCK_MONOTONIC_COARSE, &now) != 0) return atomic_load(&offset_ns);
  long long t = now.tv_sec * 1000000000LL + now.tv_nsec;
  long long next = atomic_load_explicit(&next_read_ns, memory_order_relaxed);
  // One thread reads the file per second; the others use the offset it read last.
  if (t >= next && atomic_compare_exchange_strong(&next_read_ns, &next, t + 1000000000LL))
    atomic_store(&offset_ns, ReadOffsetNs());
  return atomic_load(&offset_ns);
}

int clock_gettime(clockid_t id, struct timespec* ts) {
  Resolve();
  int rc = real_clock_gettime(id, ts);
  if (rc != 0 || !offset_file || (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE)) return rc;
  long long ns = ts->tv_sec * 1000000000LL + ts->tv_nsec + OffsetNs();
  ts->tv_sec = ns / 1000000000LL;
  ts->tv_nsec = ns % 1000000000LL;
  return 0;
}

int gettimeofday(struct timeval* restrict tv, void* restrict tz) {
  // As glibc's: tv must not be NULL; an obsolete timezone is zeroed.
  if (tz) memset(tz, 0, sizeof(struct timezone));
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
  tv->tv_sec = ts.tv_sec;
  tv->tv_usec = ts.tv_nsec / 1000;
  return 0;
}

time_t time(time_t* out) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return (time_t)-1;
  if (out) *out = ts.tv_sec;
  return ts.tv_sec;
}
