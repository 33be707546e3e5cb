// A mutex, its scoped lock and a condition variable that the compiler's thread-safety analysis
// understands (std::mutex carries no annotations in libstdc++): fields say GUARDED_BY(mu_), and a
// function that touches them without holding mu_ does not compile in the sanitizer build.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#include "techmoda/thread_annotations.h"

namespace techmoda {

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  // Tells the analysis the caller holds it (inside a condition's predicate, which runs locked).
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  std::mutex mu_;
};

// Many readers or one writer (the in-memory copy: reads on every request, a writer per change).
class CAPABILITY("shared mutex") SharedMutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  void lock_shared() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void unlock_shared() RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds a SharedMutex for reading for its scope.
class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_.lock_shared(); }
  ~ReaderLock() RELEASE() { mu_.unlock_shared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

// Holds a SharedMutex for writing for its scope.
class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~WriterLock() RELEASE() { mu_.unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

// Holds `mu` for its scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// Waits on a Mutex the caller holds. Thread-safe.
class CondVar {
 public:
  // Waits until `ready()` (evaluated with `mu` held) or until `timeout` passes; returns ready().
  template <typename Predicate>
  bool WaitFor(Mutex& mu, std::chrono::nanoseconds timeout, Predicate ready) REQUIRES(mu) {
    return cv_.wait_for(mu, timeout, ready);
  }
  // Waits until `ready()` or `deadline`; returns ready().
  template <typename Clock, typename Duration, typename Predicate>
  bool WaitUntil(Mutex& mu, std::chrono::time_point<Clock, Duration> deadline, Predicate ready) REQUIRES(mu) {
    return cv_.wait_until(mu, deadline, ready);
  }
  // Waits until `ready()`.
  template <typename Predicate>
  void Wait(Mutex& mu, Predicate ready) REQUIRES(mu) {
    cv_.wait(mu, ready);
  }
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable_any cv_;
};

}  // namespace techmoda
