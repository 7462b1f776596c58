// Signals that end a process (SIGTERM from systemd, kubelet or `timeout`;
// SIGINT; SIGHUP; SIGQUIT) must not stop ztc half way through its kernel
// writes: netlink has no transactions, so a load stopped in its routing phase
// leaves a new nft table beside old rules and half the routes.
//
// A writer calls hold() right before its first kernel write; from then on the
// four signals are blocked and wait, pending, while the writer finishes (or
// undoes) its work. Once the node is consistent again the command calls
// release(): it takes every pending one, restores the signal mask and says
// which came first, and the command exits 128+signal after one line saying
// which state the node is in. A second signal changes nothing: it is pending
// too. A signal the process was started ignoring (SIG_IGN, as `nohup` does
// with SIGHUP) is still ignored, only mentioned. SIGKILL cannot be held: the
// next load converges (the kill test).
//
// Blocking applies to the calling thread: ztc's writers run on its only one.
#pragma once

#include <signal.h>

#include <string>

namespace ztc {

class HeldSignals {
 public:
  HeldSignals() = default;  // nothing held until hold()
  ~HeldSignals();           // restores the mask if release() was not called
  HeldSignals(const HeldSignals&) = delete;
  HeldSignals& operator=(const HeldSignals&) = delete;

  // Blocks SIGTERM, SIGINT, SIGHUP and SIGQUIT; a second call does nothing.
  void hold();
  bool holding() const { return holding_; }

  struct Arrived {
    int signal = 0;        // the first (lowest-numbered) that arrived; 0: none
    bool ignored = false;  // its disposition was SIG_IGN: not a reason to stop
  };
  // Ends the hold, consuming every held signal. Nothing arrived when nothing
  // was held. When one arrived (not ignored) the signals stay blocked: the
  // caller is to exit 128+signal, and a later one must not cut that short.
  Arrived release();

 private:
  bool holding_ = false;
  sigset_t previous_mask_{};
  sigset_t ignored_{};  // of the four, those with SIG_IGN when the hold began
};

// "SIGTERM"; "signal N" for others.
std::string signal_name(int signal);

}  // namespace ztc
