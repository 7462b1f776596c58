#include "backend/definitions_memo.h"

#include <boost/test/unit_test.hpp>

#include "testsupport/files.h"

namespace ztc::nft {
namespace {

TableDefinitions two_objects() {
  TableDefinitions table;
  table.found = true;
  table.attributes = {"\tcomment \"managed by ztc\""};
  table.blocks = {{"chain", "output", "\tchain output {\n\t\tmeta mark set 0x20\n\t}\n"},
                  {"set", "pods", "\tset pods {\n\t\ttype ipv4_addr\n\t}\n"}};
  return table;
}

BOOST_AUTO_TEST_SUITE(definitions_memo)

BOOST_AUTO_TEST_CASE(found_for_its_key_in_its_namespace_only) {
  testing::TempDir dir;
  std::string error;
  auto memo = [&](uint64_t cookie) {
    std::optional<StateDir> state = StateDir::open(dir.file("run"), &error);
    BOOST_TEST_REQUIRE(state.has_value(), error);
    return DefinitionsMemo(NetnsRecordFile(std::move(*state), "definitions", {42, cookie}));
  };
  BOOST_TEST(!memo(7).find("key").has_value());  // nothing recorded yet
  BOOST_TEST_REQUIRE(memo(7).write("key", two_objects(), &error), error);
  std::optional<TableDefinitions> found = memo(7).find("key");
  BOOST_TEST_REQUIRE(found.has_value());
  BOOST_TEST(same_objects(*found, two_objects()));
  BOOST_TEST(found->blocks.size() == 2u);
  BOOST_TEST(!memo(7).find("another policy").has_value());
  // A new namespace that got the dead one's inode: not its record.
  BOOST_TEST(!memo(8).find("key").has_value());
  // Not what write() writes: no record, no error (it only saves time).
  dir.write("run/definitions-42",
            "{\"key\": \"key\", \"netns_cookie\": 7, \"attributes\": 3, \"blocks\": []}");
  BOOST_TEST(!memo(7).find("key").has_value());
  BOOST_TEST(memo(7).remove(&error));
  BOOST_TEST(!memo(7).find("key").has_value());
}

BOOST_AUTO_TEST_CASE(the_key_holds_the_text_the_managed_sets_and_the_builds) {
  const std::string key = declared_key("table ip t {\n}\n", {"pods"});
  BOOST_TEST(key == declared_key("table ip t {\n}\n", {"pods"}));
  BOOST_TEST(key != declared_key("table ip t {\n}\n", {}));
  BOOST_TEST(key != declared_key("table ip u {\n}\n", {"pods"}));
  BOOST_TEST(key.find("libnftables /") != std::string::npos, key);
  BOOST_TEST(key.find("\nkernel ") != std::string::npos, key);
}

BOOST_AUTO_TEST_CASE(same_objects_ignores_their_order_not_their_text) {
  TableDefinitions table = two_objects();
  TableDefinitions reordered = table;
  std::swap(reordered.blocks[0], reordered.blocks[1]);
  BOOST_TEST(same_objects(table, reordered));
  TableDefinitions edited = table;
  edited.blocks[0].text = "\tchain output {\n\t}\n";
  BOOST_TEST(!same_objects(table, edited));
  TableDefinitions commented = table;
  commented.attributes.clear();
  BOOST_TEST(!same_objects(table, commented));
  TableDefinitions absent = table;
  absent.found = false;
  BOOST_TEST(!same_objects(table, absent));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc::nft
