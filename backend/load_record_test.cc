#include "backend/load_record.h"

#include <boost/test/unit_test.hpp>

#include "testsupport/files.h"

namespace ztc {

BOOST_AUTO_TEST_SUITE(load_record)

nft::Table two_counters() {
  nft::Table table;
  table.name = "t";
  table.counters.push_back({"kept", {}, {}, 0, 0});
  table.counters.push_back({"fresh", {}, {}, 0, 0});
  return table;
}

BOOST_AUTO_TEST_CASE(a_carried_counter_keeps_its_reset_time_a_new_one_starts_now) {
  LoadRecord previous;
  previous.table = "ip t";
  previous.loaded_at = "2026-01-01T00:00:00Z";
  previous.counters_since = {{"fresh", "2025-06-01T00:00:00Z"}};
  LoadRecord next =
      next_load_record(two_counters(), {}, {"kept"}, previous, "2026-02-02T00:00:00Z");
  BOOST_TEST(next.table == "ip t");
  BOOST_TEST(next.loaded_at == "2026-02-02T00:00:00Z");
  // Carried but not in the record (an older ztc loaded it): since that load.
  BOOST_TEST(next.counters_since.at("kept") == "2026-01-01T00:00:00Z");
  // Not carried (its rule changed, or the table was gone): reset now.
  BOOST_TEST(next.counters_since.at("fresh") == "2026-02-02T00:00:00Z");
  // The record of another table says nothing about this one's counters.
  previous.table = "ip other";
  next = next_load_record(two_counters(), {}, {"kept"}, previous, "2026-02-02T00:00:00Z");
  BOOST_TEST(next.counters_since.at("kept") == "2026-02-02T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(the_fingerprint_follows_the_policy) {
  nft::Table table = two_counters();
  std::string first = policy_fingerprint(table, {});
  BOOST_TEST(first.size() == 16u);
  BOOST_TEST(policy_fingerprint(table, {}) == first);
  table.counters[0].packets = 7;  // live values are not the policy
  BOOST_TEST(policy_fingerprint(two_counters(), {}) == first);
  table = two_counters();
  table.name = "u";
  BOOST_TEST(policy_fingerprint(table, {}) != first);
}

BOOST_AUTO_TEST_CASE(written_and_read_back_for_the_same_namespace_only) {
  testing::TempDir dir;
  std::string error;
  auto open = [&](uint64_t cookie) {
    std::optional<StateDir> state = StateDir::open(dir.file("run"), &error);
    BOOST_TEST_REQUIRE(state.has_value(), error);
    return LoadRecordFile(std::move(*state), 42, cookie);
  };
  LoadRecord record =
      next_load_record(two_counters(), {}, {}, std::nullopt, "2026-02-02T00:00:00Z");
  BOOST_TEST_REQUIRE(open(7).write(record, &error), error);
  std::optional<LoadRecord> read = open(7).read(&error);
  BOOST_TEST_REQUIRE(read.has_value(), error);
  BOOST_TEST(read->fingerprint == record.fingerprint);
  BOOST_TEST(read->counters_since == record.counters_since);
  // A namespace that reuses the inode has another cookie: no record.
  BOOST_TEST(!open(8).read(&error).has_value());
  BOOST_TEST(error == "");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
