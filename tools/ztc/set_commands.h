// ztc set add / del / list / sync: members of a managed set and their derived
// routes, changed without reloading anything else (backend/enroll.h).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "backend/enroll.h"
#include "tools/ztc/commands.h"

namespace ztc {

struct SetOptions {
  PolicyOptions policy;
  NodeOptions node;
  std::string set;
  // add/del: the ELEMENT... words, each element optionally followed by the
  // two words `comment TEXT`.
  std::vector<std::string> elements;
  std::string from;      // sync: a file of members, or "-" for stdin
  bool verbose = false;  // one line per element and route changed
};

int run_set_add(const SetOptions& options, std::ostream& out, std::ostream& err);
int run_set_del(const SetOptions& options, std::ostream& out, std::ostream& err);
int run_set_list(const SetOptions& options, std::ostream& out, std::ostream& err);
int run_set_sync(const SetOptions& options, std::ostream& out, std::ostream& err);

// `10.244.1.5 comment uid-1 10.244.1.6` -> two members. False with `error`
// when `comment` is not between an element and its text.
bool parse_element_words(const std::vector<std::string>& words, std::vector<MemberInput>* members,
                         std::string* error);

}  // namespace ztc
