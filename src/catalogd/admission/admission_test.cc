#include <gtest/gtest.h>

#include <vector>

#include "catalogd/admission/admission.h"
#include "catalogd/admission/limiter.h"
#include "catalogd/admission/rate_limit.h"

namespace techmoda::admission {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A fixed limit of `n`, so that the tests decide every slot themselves.
AdmissionOptions FixedLimit(double n) {
  AdmissionOptions o;
  o.limit.initial_limit = n;
  o.limit.min_limit = n;
  o.limit.max_limit = n;
  return o;
}

// Records what the admission decided for each request, in order.
struct Outcomes {
  std::vector<std::string> log;
  Admission::Grant For(const std::string& name) {
    return [this, name](bool admitted) { log.push_back(name + (admitted ? ":start" : ":refused")); };
  }
};

TEST(GradientLimit, GrowsWhileLatencyHoldsAndShrinksWhenItRises) {
  GradientLimit limit({.initial_limit = 20, .min_limit = 4, .max_limit = 200});
  for (int i = 0; i < 200; ++i) limit.OnSample(0.010, static_cast<int>(limit.limit()));
  double grown = limit.limit();
  EXPECT_GT(grown, 40);
  for (int i = 0; i < 100; ++i) limit.OnSample(0.050, static_cast<int>(limit.limit()));
  EXPECT_LT(limit.limit(), grown / 2);
  EXPECT_GE(limit.limit(), 4);
}

TEST(GradientLimit, IdleTrafficDoesNotMoveTheLimit) {
  GradientLimit limit({.initial_limit = 20});
  for (int i = 0; i < 500; ++i) limit.OnSample(0.010, 2);  // far below the limit: no evidence
  EXPECT_DOUBLE_EQ(limit.limit(), 20);
}

TEST(Admission, ListingsAreRefusedBeforeOrdersWhenTheLimitIsReached) {
  Admission adm(FixedLimit(4));
  Outcomes out;
  auto now = Clock::now();
  auto deadline = now + std::chrono::seconds(30);
  adm.Acquire(Priority::kNormal, deadline, out.For("read1"), now);
  adm.Acquire(Priority::kNormal, deadline, out.For("read2"), now);
  // Two of four slots are busy: listings may use half the limit, so this one waits...
  adm.Acquire(Priority::kSheddable, deadline, out.For("list"), now);
  // ...while an order still starts at once.
  adm.Acquire(Priority::kCritical, deadline, out.For("order"), now);
  EXPECT_EQ(out.log, (std::vector<std::string>{"read1:start", "read2:start", "order:start"}));
  adm.ExpireWaiters(now + milliseconds(25));  // past the listing queue's 20 ms
  EXPECT_EQ(out.log.back(), "list:refused");
  EXPECT_EQ(adm.Snapshot().shed_timeout[static_cast<int>(Priority::kSheddable)], 1u);
}

TEST(Admission, ATimeThatMeasuredAnOutageDoesNotShrinkTheLimit) {
  AdmissionOptions o;
  o.limit = {.initial_limit = 8, .min_limit = 2, .max_limit = 64};
  Admission adm(o);
  Outcomes out;
  auto now = Clock::now();
  auto deadline = now + std::chrono::seconds(30);
  auto cycle = [&](double rtt, bool sample) {  // the limit's worth of requests, each taking rtt
    int n = static_cast<int>(adm.Snapshot().limit);
    for (int i = 0; i < n; ++i) adm.Acquire(Priority::kCritical, deadline, out.For("o"), now);
    for (int i = 0; i < n; ++i) adm.Finish(rtt, sample);
  };
  for (int i = 0; i < 50; ++i) cycle(0.002, true);  // a steady 2 ms
  const double steady = adm.Snapshot().limit;
  for (int i = 0; i < 20; ++i) cycle(5.0, false);  // writes that waited 5 s for a new primary
  EXPECT_DOUBLE_EQ(adm.Snapshot().limit, steady);
  for (int i = 0; i < 20; ++i) cycle(5.0, true);  // the same times, as load
  EXPECT_LT(adm.Snapshot().limit, steady);
}

TEST(Admission, AFreedSlotGoesToTheMostImportantWaiter) {
  Admission adm(FixedLimit(2));
  Outcomes out;
  auto now = Clock::now();
  auto deadline = now + std::chrono::seconds(30);
  adm.Acquire(Priority::kCritical, deadline, out.For("o1"), now);
  adm.Acquire(Priority::kCritical, deadline, out.For("o2"), now);
  adm.Acquire(Priority::kNormal, deadline, out.For("read"), now);
  adm.Acquire(Priority::kCritical, deadline, out.For("o3"), now);
  EXPECT_EQ(out.log.size(), 2u);
  adm.Finish(0.01);
  EXPECT_EQ(out.log.back(), "o3:start");
  adm.Finish(0.01);
  EXPECT_EQ(out.log.back(), "read:start");
}

TEST(Admission, AFullQueueRefusesAtOnce) {
  AdmissionOptions o = FixedLimit(1);
  o.queue_capacity = {1, 1, 0};
  Admission adm(o);
  Outcomes out;
  auto now = Clock::now();
  auto deadline = now + std::chrono::seconds(30);
  adm.Acquire(Priority::kNormal, deadline, out.For("a"), now);
  adm.Acquire(Priority::kNormal, deadline, out.For("b"), now);  // waits
  adm.Acquire(Priority::kNormal, deadline, out.For("c"), now);  // no room to wait
  adm.Acquire(Priority::kSheddable, deadline, out.For("d"), now);
  EXPECT_EQ(out.log, (std::vector<std::string>{"a:start", "c:refused", "d:refused"}));
}

TEST(Admission, NoWaitOutlivesTheRequestsDeadline) {
  Admission adm(FixedLimit(1));
  Outcomes out;
  auto now = Clock::now();
  adm.Acquire(Priority::kCritical, now + std::chrono::seconds(30), out.For("a"), now);
  adm.Acquire(Priority::kCritical, now + milliseconds(5), out.For("b"), now);  // queue allows 1 s
  adm.ExpireWaiters(now + milliseconds(6));
  EXPECT_EQ(out.log.back(), "b:refused");
}

TEST(Admission, NetworkDelayShedsListingsButNeverReadsOrOrders) {
  AdmissionOptions o;
  o.target_delay = milliseconds(10);
  Admission adm(o);
  EXPECT_TRUE(adm.AdmitNow(Priority::kSheddable, 0.0));
  // One late period is not overload.
  adm.ObserveNetworkDelay(0.040);
  adm.AdjustShedding();
  EXPECT_EQ(adm.Snapshot().shed_level, 0.0);
  // Sustained delay of 4× the target raises the level by 0.2 a period from the second.
  for (int i = 0; i < 2; ++i) {
    adm.ObserveNetworkDelay(0.040);
    adm.AdjustShedding();
  }
  EXPECT_NEAR(adm.Snapshot().shed_level, 0.4, 1e-9);
  EXPECT_FALSE(adm.AdmitNow(Priority::kSheddable, 0.3));  // 40 % of listings
  EXPECT_TRUE(adm.AdmitNow(Priority::kSheddable, 0.5));
  for (int i = 0; i < 10; ++i) {
    adm.ObserveNetworkDelay(0.040);
    adm.AdjustShedding();
  }
  EXPECT_NEAR(adm.Snapshot().shed_level, 1.0, 1e-9);
  EXPECT_FALSE(adm.AdmitNow(Priority::kSheddable, 0.99));  // every listing
  EXPECT_TRUE(adm.AdmitNow(Priority::kNormal, 0.0));       // never a read
  EXPECT_TRUE(adm.AdmitNow(Priority::kCritical, 0.0));
  EXPECT_EQ(adm.Snapshot().shed_delay[static_cast<int>(Priority::kSheddable)], 2u);
  // Delay under half the target: shedding eases off, slowly.
  for (int i = 0; i < 200; ++i) {
    adm.ObserveNetworkDelay(0.001);
    adm.AdjustShedding();
  }
  EXPECT_EQ(adm.Snapshot().shed_level, 0.0);
  EXPECT_TRUE(adm.AdmitNow(Priority::kSheddable, 0.0));
}

TEST(Admission, OffAdmitsEverything) {
  AdmissionOptions o = FixedLimit(1);
  o.enabled = false;
  Admission adm(o);
  Outcomes out;
  auto now = Clock::now();
  for (int i = 0; i < 5; ++i) adm.Acquire(Priority::kSheddable, now + std::chrono::seconds(1), out.For("x"), now);
  EXPECT_EQ(out.log.size(), 5u);
  adm.ObserveNetworkDelay(1.0);
  adm.AdjustShedding();
  EXPECT_TRUE(adm.AdmitNow(Priority::kSheddable, 0.0));
}

TEST(RateLimit, ParsesRateAndBurst) {
  EXPECT_EQ(ParseRateLimit("200/400")->per_second, 200);
  EXPECT_EQ(ParseRateLimit("200/400")->burst, 400);
  EXPECT_EQ(ParseRateLimit("50")->burst, 100);
  EXPECT_EQ(ParseRateLimit("off")->per_second, 0);
  EXPECT_FALSE(ParseRateLimit("fast").ok());
  EXPECT_FALSE(ParseRateLimit("10/-1").ok());
}

TEST(RateLimit, AClientOverItsRateWaitsAndOthersDoNot) {
  RateLimiter limiter({RateLimit{}, RateLimit{2, 3}, RateLimit{}});
  auto now = Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.Take(auth::Role::kClient, "token:a", now)) << i;
  auto wait = limiter.Take(auth::Role::kClient, "token:a", now);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 1);
  EXPECT_FALSE(limiter.Take(auth::Role::kClient, "token:b", now));                      // its own bucket
  EXPECT_FALSE(limiter.Take(auth::Role::kAnonymous, "addr:x", now));                    // unlimited role
  EXPECT_FALSE(limiter.Take(auth::Role::kClient, "token:a", now + milliseconds(600)));  // refilled 1.2
  EXPECT_EQ(limiter.limited(auth::Role::kClient), 1u);
}

}  // namespace
}  // namespace techmoda::admission
