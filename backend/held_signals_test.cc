#include "backend/held_signals.h"

#include <pthread.h>
#include <signal.h>

#include <boost/test/unit_test.hpp>

namespace ztc {
namespace {

bool blocked(int signal) {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, signal) == 1;
}

bool pending(int signal) {
  sigset_t set;
  sigpending(&set);
  return sigismember(&set, signal) == 1;
}

void unblock_all_four() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGTERM}) sigaddset(&set, s);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(held_signals)

BOOST_AUTO_TEST_CASE(nothing_held_nothing_arrives) {
  HeldSignals held;
  BOOST_TEST(!held.holding());
  BOOST_TEST(held.release().signal == 0);
  BOOST_TEST(!blocked(SIGTERM));
}

BOOST_AUTO_TEST_CASE(signals_wait_until_release_which_names_the_first_and_takes_all) {
  BOOST_TEST_REQUIRE(!blocked(SIGTERM));
  {
    HeldSignals held;
    held.hold();
    held.hold();  // twice is once
    BOOST_TEST_REQUIRE(held.holding());
    BOOST_TEST_REQUIRE(blocked(SIGTERM));
    raise(SIGTERM);
    raise(SIGINT);
    raise(SIGTERM);  // a second one of a kind merges
    BOOST_TEST(pending(SIGTERM));
    HeldSignals::Arrived arrived = held.release();
    BOOST_TEST(arrived.signal == SIGINT);  // lowest first: SIGINT (2) before SIGTERM (15)
    BOOST_TEST(!arrived.ignored);
    BOOST_TEST(!pending(SIGTERM));
    BOOST_TEST(!pending(SIGINT));
    // Still blocked: the caller exits 128+signal and nothing may cut that short.
    BOOST_TEST(blocked(SIGTERM));
  }
  unblock_all_four();
}

BOOST_AUTO_TEST_CASE(nothing_arrived_restores_the_mask) {
  HeldSignals held;
  held.hold();
  BOOST_TEST(blocked(SIGQUIT));
  BOOST_TEST(held.release().signal == 0);
  BOOST_TEST(!blocked(SIGQUIT));
}

BOOST_AUTO_TEST_CASE(a_signal_started_ignored_stays_ignored_but_is_reported) {
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGHUP, &ignore, &previous);
  {
    HeldSignals held;
    held.hold();
    BOOST_TEST_REQUIRE(blocked(SIGHUP));
    raise(SIGHUP);
    HeldSignals::Arrived arrived = held.release();
    BOOST_TEST(arrived.signal == SIGHUP);
    BOOST_TEST(arrived.ignored);
    BOOST_TEST(!blocked(SIGHUP));  // nothing to exit for: the mask is back
  }
  sigaction(SIGHUP, &previous, nullptr);
  unblock_all_four();
}

BOOST_AUTO_TEST_CASE(names) {
  BOOST_TEST(signal_name(SIGTERM) == "SIGTERM");
  BOOST_TEST(signal_name(SIGQUIT) == "SIGQUIT");
  BOOST_TEST(signal_name(SIGUSR1) == "signal " + std::to_string(SIGUSR1));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
