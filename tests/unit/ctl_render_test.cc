// lxe-ctl's rendering: aligned tables, colour that never shifts a column, YAML, ages and times.
#include <catch2/catch.hpp>

#include <yaml-cpp/yaml.h>

#include "ctl/render.h"
#include "support/process.h"

using namespace lxe::ctl;
using lxe::test::non_empty_lines;

namespace {

// The data a YAML document holds, as JSON: what any YAML reader gets from to_yaml's output. A
// quoted scalar (tag "!") is a string; a plain one is null, a boolean, an integer or a float, as
// YAML's core schema reads it, and a string only when it is none of those.
nlohmann::json yaml_data(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) {
        const nlohmann::json key = yaml_data(kv.first);
        REQUIRE(key.is_string());  // a key that reads back as anything else is a bug
        out[key.get<std::string>()] = yaml_data(kv.second);
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(yaml_data(item));
      return out;
    }
    default:
      break;
  }
  const std::string text = node.Scalar();
  if (node.Tag() == "!") return text;
  if (text == "null" || text == "~") return nullptr;
  if (text == "true" || text == "false") return text == "true";
  for (const char* word : {"yes", "no", "on", "off", "y", "n", "<<"})
    if (text == word) FAIL("plain scalar '" << text << "' means something else in YAML 1.1");
  // A number: JSON's spelling of a number is YAML's.
  const auto number = nlohmann::json::parse(text, nullptr, false);
  if (number.is_number()) return number;
  return text;
}

nlohmann::json round_trip(const nlohmann::json& doc) { return yaml_data(YAML::Load(to_yaml(doc))); }

}  // namespace

TEST_CASE("ctl render: tables are aligned, three spaces apart, without trailing blanks", "[ctl]") {
  Table t({"ID", "NAME", "LAST"});
  t.add({{"abc"}, {"a-long-name"}, {"-"}});
  t.add({{"abcdefgh"}, {"x"}, {""}});
  const std::string out = t.render(false);
  CHECK(out ==
        "ID         NAME          LAST\n"
        "abc        a-long-name   -\n"
        "abcdefgh   x\n");
}

TEST_CASE("ctl render: colour codes only when enabled, and the columns stay put", "[ctl]") {
  Table t({"STATE", "AGE"});
  t.add({{"CONTAINER_RUNNING", Color::Green}, {"3m"}});
  const std::string plain = t.render(false);
  const std::string colored = t.render(true);
  CHECK(plain.find('\033') == std::string::npos);
  CHECK(colored.find("\033[32mCONTAINER_RUNNING\033[0m") != std::string::npos);
  // Without the escape codes, both are the same text.
  std::string stripped;
  for (size_t i = 0; i < colored.size(); ++i) {
    if (colored[i] == '\033') {
      while (colored[i] != 'm') ++i;
      continue;
    }
    stripped += colored[i];
  }
  CHECK(stripped == plain);
  CHECK(colorize("x", Color::Red, false) == "x");
}

TEST_CASE("ctl render: widths count characters, not bytes", "[ctl]") {
  CHECK(display_width("héllo") == 5);
  Table t({"A", "B"});
  t.add({{"héllo"}, {"1"}});
  t.add({{"hello"}, {"2"}});
  const auto lines = non_empty_lines(t.render(false));
  REQUIRE(lines.size() == 3);
  CHECK(lines[1].find("1") == lines[2].find("2") + 1);  // one extra byte for é, same column
}

TEST_CASE("ctl render: key/value text indents continuation lines", "[ctl]") {
  const std::string out = render_key_values({{"Name", {"web"}}, {"Labels", {"a=1\nb=2"}}, {"Empty", {""}}}, false);
  CHECK(out ==
        "Name     web\n"
        "Labels   a=1\n"
        "         b=2\n"
        "Empty    -\n");
}

TEST_CASE("ctl render: YAML for nested objects, arrays and awkward strings", "[ctl]") {
  const nlohmann::json doc = {
      {"containers",
       {{{"id", "abc"}, {"labels", {{"io.kubernetes.pod.name", "web"}, {"weird key", "yes: no"}}}, {"exitCode", 0}},
        {{"id", "def"}, {"labels", nlohmann::json::object()}, {"exitCode", nullptr}}}},
      {"empty", nlohmann::json::array()},
      {"list", {1, "two", true}},
  };
  CHECK(to_yaml(doc) ==
        "containers:\n"
        "  - exitCode: 0\n"
        "    id: \"abc\"\n"
        "    labels:\n"
        "      io.kubernetes.pod.name: \"web\"\n"
        "      \"weird key\": \"yes: no\"\n"
        "  - exitCode: null\n"
        "    id: \"def\"\n"
        "    labels: {}\n"
        "empty: []\n"
        "list:\n"
        "  - 1\n"
        "  - \"two\"\n"
        "  - true\n");
  CHECK(to_yaml(nlohmann::json("a\nb")) == "\"a\\nb\"\n");
}

TEST_CASE("ctl render: YAML reads back as the very data it was made from", "[ctl]") {
  const nlohmann::json doc = {
      {"strings",
       {"", "plain", "123", "-1.5", "true", "false", "null", "~", "yes", "no", "on", "0x1F", ".inf", "1e3",
        "a: b", "- item", "# not a comment", "'single'", "\"double\"", "back\\slash", "tab\there",
        "line\nbreak\r\n", "\x01\x7f control", "héllo 日本", "  padded  ", "{braces}", "[brackets]", "&anchor",
        "*alias", "!tag", "%directive", "|", ">", "@at", "`tick`"}},
      {"keys",
       {{"123", 1}, {"yes", 2}, {"No", 3}, {"null", 4}, {"<<", 5}, {"", 6}, {"a b", 7}, {"-dash", 8},
        {"io.kubernetes.pod.name", 9}, {"k:v", 10}, {"é", 11}, {"x\ny", 12}, {"camelCase", 13}}},
      {"numbers",
       {0, -1, 42, INT64_MAX, INT64_MIN, UINT64_MAX, 0.1, -2.5, 1e300, 1.7976931348623157e308, 5e-324}},
      {"booleans", {true, false}},
      {"nothing", nullptr},
      {"empty", {{"object", nlohmann::json::object()}, {"array", nlohmann::json::array()}, {"string", ""}}},
      {"nested",
       {{{"a", {{"b", {{"c", {1, {2, {3}}}}}}}}},
        nlohmann::json::array({nlohmann::json::array(), nlohmann::json::object(), nullptr})}},
  };
  CHECK(round_trip(doc) == doc);
  for (const auto& scalar : {nlohmann::json("top"), nlohmann::json(7), nlohmann::json(nullptr),
                             nlohmann::json::object(), nlohmann::json::array()})
    CHECK(round_trip(scalar) == scalar);
}

TEST_CASE("ctl render: YAML replaces bytes that are not UTF-8, as the JSON output does", "[ctl]") {
  const nlohmann::json doc = {{"bad", "a\xff\xfe" "b"}};
  const auto expected = nlohmann::json::parse(doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  CHECK(round_trip(doc) == expected);
}

TEST_CASE("ctl render: human ages", "[ctl]") {
  constexpr int64_t s = 1'000'000'000;
  const int64_t now = 1000000 * s;
  CHECK(human_age(0, now) == "-");
  CHECK(human_age(now - 42 * s, now) == "42s");
  CHECK(human_age(now - 180 * s, now) == "3m");
  CHECK(human_age(now - 5 * 3600 * s, now) == "5h");
  CHECK(human_age(now - 12 * 86400 * s, now) == "12d");
  CHECK(human_age(now + 10 * s, now) == "0s");  // clock skew: never negative
}

TEST_CASE("ctl render: times, IDs and one-line texts", "[ctl]") {
  CHECK(time_json(0).is_null());
  CHECK(time_json(1'700'000'000'123'456'789) == "2023-11-14T22:13:20.123456789Z");
  CHECK(short_time(1'700'000'000'123'456'789) == "2023-11-14T22:13:20.123Z");
  CHECK(short_time(0) == "-");
  CHECK(short_id(std::string(64, 'a')) == std::string(13, 'a'));
  CHECK(short_id("abc") == "abc");
  CHECK(one_line("a\nb\tc", 10) == "a b c");
  CHECK(one_line("0123456789abc", 10) == "0123456...");
  CHECK(one_line("ééééééééééé", 5) == "éé...");
}

TEST_CASE("ctl render: CPU in cores, CPU times, and bytes in kubectl's binary units", "[ctl]") {
  CHECK(cores_text(0) == "0.00");
  CHECK(cores_text(4'999'999) == "0.00");
  CHECK(cores_text(5'000'000) == "0.01");
  CHECK(cores_text(984'000'000) == "0.98");
  CHECK(cores_text(1'000'000'000) == "1.00");
  CHECK(cores_text(12'345'000'000) == "12.35");

  constexpr uint64_t s = 1'000'000'000;
  CHECK(cpu_time_text(0) == "0.0s");
  CHECK(cpu_time_text(420'000'000) == "0.4s");
  CHECK(cpu_time_text(12'345'000'000) == "12.3s");
  CHECK(cpu_time_text(59'960'000'000) == "1m00s");  // rounds up into the next unit, never "60.0s"
  CHECK(cpu_time_text(312 * s) == "5m12s");
  CHECK(cpu_time_text(3 * 3600 * s + 4 * 60 * s) == "3h04m");
  CHECK(cpu_time_text(2 * 86400 * s + 5 * 3600 * s) == "2d05h");

  constexpr uint64_t ki = 1024, mi = ki * ki, gi = mi * ki;
  CHECK(bytes_text(0) == "0");
  CHECK(bytes_text(512) == "512");
  CHECK(bytes_text(ki) == "1.0Ki");
  CHECK(bytes_text(312 * ki) == "312Ki");
  CHECK(bytes_text(3 * mi + 400 * ki) == "3.4Mi");
  CHECK(bytes_text(123 * mi) == "123Mi");
  CHECK(bytes_text(mi - 1) == "1.0Mi");  // not "1024Ki"
  CHECK(bytes_text(10 * mi - 1) == "10Mi");
  CHECK(bytes_text(gi + gi / 2) == "1.5Gi");
  CHECK(bytes_text(2048 * gi) == "2.0Ti");
}
