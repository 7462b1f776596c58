// ztc explain FILE [-D NAME=VALUE]... [--member SET=ELEMENT]... [--netns NAME]
//                  [--json] PACKET...
// What the policy does to one packet (backend/explain.h), offline or with a
// namespace's live members, local addresses and main table.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "backend/explain.h"
#include "tools/ztc/commands.h"

namespace ztc {

struct ExplainOptions {
  PolicyOptions policy;
  std::vector<std::string> members;  // SET=ELEMENT
  std::string netns;                 // empty: offline
  bool json = false;
  std::vector<std::string> packet;  // the PACKET words
};

int run_explain(const ExplainOptions& options, std::ostream& out, std::ostream& err);

// `iif vpa tcp saddr 10.244.1.21 daddr 10.96.0.10 dport 80` -> a packet.
// False with a usage error naming the word at fault.
bool parse_packet_words(const std::vector<std::string>& words, explain::Packet* packet,
                        std::string* error);

}  // namespace ztc
