#include "model/enroll_fingerprint.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "model/routing_plan.h"

namespace ztc {
namespace {

std::optional<IpFamily> address_family(const std::string& nft_type) {
  if (nft_type == "ipv4_addr") return IpFamily::v4;
  if (nft_type == "ipv6_addr") return IpFamily::v6;
  return std::nullopt;  // ifname, inet_service: no route is derived from them
}

// "via 192.168.126.2 dev istioin src 10.244.1.1 table 100": the route as
// `describe` prints it, without the family flag and destination (the member).
std::string template_text(const route::Route& route) {
  route::Route shown = route;
  shown.destination = IpPrefix{};
  shown.destination.family = route.family;
  shown.destination.length = 0;
  std::string text = route::describe(shown);
  const std::string marker = " route default";
  size_t at = text.find(marker);
  if (at == std::string::npos) return text;
  text = text.substr(at + marker.size());
  return text.empty() ? text : text.substr(1);
}

// FNV-1a, 64 bits: stable across builds and platforms (std::hash is not),
// enough to tell two policies apart; nothing here is a secret.
std::string fnv1a64(const std::string& text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(hash));
  return buffer;
}

// How a record's routes read in an error.
std::string routes_phrase(const std::string& record) {
  std::string body = record.substr(std::string(kMemberRoutesPrefix).size());
  if (body == "none") return "derives no route from its members";
  if (!body.empty() && body[0] == '#') {
    return "routes its members by templates too long to record in full (" + body + ")";
  }
  return "routes its members " + body;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

}  // namespace

std::string member_routes_record(const nft::Set& set, const route::Plan& plan) {
  std::optional<IpFamily> family = address_family(set.type);
  std::vector<std::string> templates;
  for (const route::DerivedRoutes& derived : plan.derived) {
    if (family && derived.set == set.name && derived.route.family == *family) {
      templates.push_back(template_text(derived.route));
    }
  }
  // The order of route statements in the policy changes nothing a member gets.
  std::sort(templates.begin(), templates.end());
  templates.erase(std::unique(templates.begin(), templates.end()), templates.end());
  std::string body;
  for (const std::string& text : templates) body += (body.empty() ? "" : ", ") + text;
  if (body.empty()) body = "none";
  std::string record = kMemberRoutesPrefix + body;
  if (record.size() > kMaxNftComment) record = kMemberRoutesPrefix + ("#" + fnv1a64(body));
  return record;
}

void record_member_routes(nft::Table* table, const route::Plan& plan) {
  for (nft::Set& set : table->sets) {
    if (set.managed) set.comment = member_routes_record(set, plan);
  }
}

std::optional<std::string> member_routes_mismatch(const std::string& set_name,
                                                  const std::string& table_ref,
                                                  const std::string& kernel_comment,
                                                  const std::string& policy_record) {
  if (kernel_comment == policy_record) return std::nullopt;
  if (!starts_with(kernel_comment, kMemberRoutesPrefix)) {
    return "set '" + set_name + "' of table " + table_ref +
           " does not record which member routes it was loaded with (an older ztc loaded "
           "it): run `ztc load` with this policy once (members are kept)";
  }
  return "set '" + set_name + "' of table " + table_ref +
         " was loaded from another policy: the loaded policy " + routes_phrase(kernel_comment) +
         "; this one " + routes_phrase(policy_record);
}

}  // namespace ztc
