#include "compiler/rule_counter_name.h"

#include <cstdint>
#include <cstdio>

#include "compiler/dump.h"

namespace ztc {

std::string rule_counter_name(const std::string& chain, const ir::Rule& rule, int ordinal) {
  // FNV-1a: stable across builds and machines (std::hash is neither).
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : chain + "\n" + dump_ir_rule(rule)) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  char hex[13];
  std::snprintf(hex, sizeof hex, "%012llx",
                static_cast<unsigned long long>(hash & 0xffffffffffffULL));
  std::string name = chain + "_" + hex;
  if (ordinal > 1) name += "_" + std::to_string(ordinal);
  return name;
}

}  // namespace ztc
