#include "backend/nft_json_listing.h"

#include <nlohmann/json.hpp>

namespace ztc::nft {
namespace {

using nlohmann::json;

// nft prints values of string types (interface names) in quotes.
bool quoted_type(const std::string& type) { return type == "ifname" || type == "string"; }

std::string value_text(const json& value, const json& type, size_t part) {
  std::string type_name;
  if (type.is_string()) type_name = type.get<std::string>();
  if (type.is_array() && part < type.size() && type[part].is_string()) {
    type_name = type[part].get<std::string>();
  }
  if (value.is_string()) {
    std::string text = value.get<std::string>();
    return quoted_type(type_name) ? quoted_string(text) : text;
  }
  if (value.is_number_unsigned() || value.is_number_integer()) return value.dump();
  if (value.is_object()) {
    if (value.contains("prefix")) {
      const json& prefix = value["prefix"];
      return value_text(prefix.value("addr", json()), type, part) + "/" +
             prefix.value("len", json(0)).dump();
    }
    if (value.contains("range") && value["range"].is_array() && value["range"].size() == 2) {
      return value_text(value["range"][0], type, part) + "-" +
             value_text(value["range"][1], type, part);
    }
    if (value.contains("concat") && value["concat"].is_array()) {
      std::string text;
      for (size_t i = 0; i < value["concat"].size(); ++i) {
        if (i > 0) text += " . ";
        text += value_text(value["concat"][i], type, i);
      }
      return text;
    }
  }
  return value.dump();
}

}  // namespace

std::vector<Element> parse_set_elements_json(const std::string& json_text) {
  std::vector<Element> elements;
  json document = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object() || !document.contains("nftables")) return elements;
  const json& items = document["nftables"];
  if (!items.is_array()) return elements;
  for (const json& item : items) {
    if (!item.is_object() || !item.contains("set")) continue;
    const json& set = item["set"];
    json type = set.value("type", json());
    if (!set.contains("elem") || !set["elem"].is_array()) continue;
    for (const json& entry : set["elem"]) {
      Element element;
      // Elements with a comment (or timeout) come wrapped: {"elem": {"val": ..., "comment": ...}}.
      if (entry.is_object() && entry.contains("elem") && entry["elem"].is_object()) {
        const json& wrapped = entry["elem"];
        element.value = value_text(wrapped.value("val", json()), type, 0);
        if (wrapped.contains("comment") && wrapped["comment"].is_string()) {
          element.comment = wrapped["comment"].get<std::string>();
        }
      } else {
        element.value = value_text(entry, type, 0);
      }
      elements.push_back(std::move(element));
    }
  }
  return elements;
}

TableSizes parse_table_sizes_json(const std::string& json_text) {
  TableSizes sizes;
  json document = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object() || !document.contains("nftables")) return sizes;
  const json& items = document["nftables"];
  if (!items.is_array()) return sizes;
  for (const json& item : items) {
    if (!item.is_object()) continue;
    if (item.contains("chain")) ++sizes.chains;
    if (item.contains("rule")) ++sizes.rules;
    if (item.contains("counter")) ++sizes.counters;
    if (item.contains("set") && item["set"].is_object()) {
      const json& set = item["set"];
      size_t size = set.contains("elem") ? set["elem"].size() : 0;
      sizes.sets.emplace_back(set.value("name", "?"), size);
    }
  }
  return sizes;
}

}  // namespace ztc::nft
