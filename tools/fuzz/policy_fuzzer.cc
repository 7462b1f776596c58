// libFuzzer target: the whole front end and every emitter.
//   input -> MemoryFileSystem "policy.zt" -> compile_policy
//   success: AST/IR dumps, nft text, nft JSON, routing batches (each family)
//   failure: Diagnostics::render
// "common.zt" is there to include, so include handling (and cycles through
// "policy.zt" itself) are exercised too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "backend/nft_json.h"
#include "backend/nft_text.h"
#include "backend/routing_text.h"
#include "compiler/compile.h"
#include "compiler/dump.h"

namespace {

const char kCommon[] =
    "param host_ip: ipv4 = 10.244.1.1\n"
    "mark skip = 0x200\n"
    "mark conn_skip = skip | 0x020\n"
    "iface tunnel_in = \"istioin\"\n"
    "set pods: ipv4 managed\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ztc;
  MemoryFileSystem files;
  files.add("policy.zt", std::string(reinterpret_cast<const char*>(data), size));
  files.add("common.zt", kCommon);
  files.add("loop.zt", "include \"policy.zt\"\n");
  Diagnostics diagnostics;
  auto compiled = compile_policy("policy.zt", files, {}, diagnostics);
  std::string rendered = diagnostics.render();
  if (!compiled) {
    // A failed compile always says why.
    if (!diagnostics.has_errors() || rendered.empty()) __builtin_trap();
    return 0;
  }
  std::string out = dump_ast(compiled->ast);
  out += dump_ir(compiled->ir);
  nft::TextOutput text = nft::emit_text(compiled->table);
  // Every output line has an origin slot (possibly unknown).
  size_t lines = 0;
  for (char c : text.text) lines += c == '\n';
  if (text.line_origin.size() > lines + 1) __builtin_trap();
  out += text.text;
  out += nft::emit_json(compiled->table);
  out += route::emit_batch(compiled->routing);
  out += route::emit_batch(compiled->routing, IpFamily::v4);
  out += route::emit_batch(compiled->routing, IpFamily::v6);
  for (const nft::Set& set : compiled->table.sets) {
    out += nft::emit_set_elements_command(compiled->table, set, set.elements, true);
    out += nft::emit_set_elements_command(compiled->table, set, set.elements, false);
  }
  return 0;
}
