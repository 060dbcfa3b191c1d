// Tests of module/hints.h: the index format, line by line, every malformed
// line with its exact error; the writer and the round trip; choose() with
// FreeBSD's rule; refused paths; allocation failures; linear cost.
#include "module/hints.h"

#include <string.h>

#include <chrono>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "support/test_allocator.h"

namespace mk::module {
namespace {

using mk::testing::TestAllocator;

ByteView View(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string Entries(const Hints& h) {
  std::string out;
  for (const HintEntry& e : h.entries)
    out += std::string(e.module) + " " + std::to_string(e.version) + " " + e.file + ";";
  return out;
}

void ExpectParseError(const std::string& text, Errc code, const std::string& message) {
  TestAllocator alloc;
  Hints h(alloc);
  Result<void> r = h.parse(View(text));
  ASSERT_FALSE(r.ok()) << "expected: " << message;
  EXPECT_EQ(errc_name(r.error().code()), std::string(errc_name(code)));
  EXPECT_EQ(r.error().message(), message);
  EXPECT_TRUE(h.entries.empty());
}

void ExpectMalformed(const std::string& text, const std::string& message) {
  ExpectParseError(text, Errc::kMalformed, message);
}

const char kHead[] = "modkit-hints 1\n";

TEST(Hints, Parses) {
  TestAllocator alloc;
  Hints h(alloc);
  std::string text = std::string(kHead) +
                     "# built by modkit xref\n"
                     "module echo 3 echo.ko\n"
                     "#\n"
                     "module buffer 2 sub/dir/buffer-v2.ko\n"
                     "module _x9 4294967295 a..b.ko\n"
                     "module buffer 0 ./buffer.ko\n";
  ASSERT_TRUE(h.parse(View(text)).ok());
  EXPECT_EQ(Entries(h),
            "echo 3 echo.ko;buffer 2 sub/dir/buffer-v2.ko;_x9 4294967295 a..b.ko;"
            "buffer 0 ./buffer.ko;");
  // The entries own their text: the input may go away.
  text.assign(text.size(), 'X');
  EXPECT_STREQ(h.entries[0].module, "echo");
  EXPECT_STREQ(h.entries[1].file, "sub/dir/buffer-v2.ko");
}

TEST(Hints, EmptyTextIsAnEmptyIndex) {
  TestAllocator alloc;
  Hints h(alloc);
  ASSERT_TRUE(h.parse(ByteView()).ok());
  EXPECT_TRUE(h.entries.empty());
  ASSERT_TRUE(h.parse(View(kHead)).ok());
  EXPECT_TRUE(h.entries.empty());
}

TEST(Hints, ParseReplacesAndFailureKeeps) {
  TestAllocator alloc;
  Hints h(alloc);
  ASSERT_TRUE(h.parse(View(std::string(kHead) + "module a 1 a.ko\n")).ok());
  ASSERT_TRUE(h.parse(View(std::string(kHead) + "module b 2 b.ko\n")).ok());
  EXPECT_EQ(Entries(h), "b 2 b.ko;");
  Result<void> bad = h.parse(View(std::string(kHead) + "module c 3 c.ko\nmodule d x d.ko\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(Entries(h), "b 2 b.ko;");  // unchanged
}

// ---- every malformed line names its number ----

TEST(HintsLines, Header) {
  ExpectMalformed("module a 1 a.ko\n",
                  "hints line 1: `module a 1 a.ko' is not the header `modkit-hints 2'");
  ExpectMalformed("modkit-hints\n",
                  "hints line 1: `modkit-hints' is not the header `modkit-hints 2'");
  ExpectMalformed("modkit-hints 1 \n",
                  "hints line 1: `modkit-hints 1 ' is not the header `modkit-hints 2'");
  ExpectMalformed("modkit-hints 01\n",
                  "hints line 1: `modkit-hints 01' is not the header `modkit-hints 2'");
  ExpectMalformed("# comment first\nmodkit-hints 1\n",
                  "hints line 1: `# comment first' is not the header `modkit-hints 2'");
  ExpectParseError("modkit-hints 3\nmodule a 1 a.ko\n", Errc::kUnsupported,
                   "hints line 1: format version 3 is not supported (only 1 and 2)");
  ExpectMalformed("modkit-hints 1", "hints line 1: no newline at the end of the file");
  ExpectMalformed("\n", "hints line 1: `' is not the header `modkit-hints 2'");
}

TEST(HintsLines, LineStructure) {
  std::string h = kHead;
  ExpectMalformed(h + "module a 1 a.ko\nmodule b 2 b.ko",
                  "hints line 3: no newline at the end of the file");
  ExpectMalformed(h + "module a 1 a.ko\n\nmodule b 2 b.ko\n", "hints line 3: empty line");
  ExpectMalformed(h + "module a 1 a.ko\r\n", "hints line 2: control character 0xd at column 16");
  ExpectMalformed(h + "module\ta 1 a.ko\n", "hints line 2: control character 0x9 at column 7");
  ExpectMalformed(h + "# \x7f\n", "hints line 2: control character 0x7f at column 3");
  ExpectMalformed(h + "module a 1 a" + std::string(1, '\0') + ".ko\n",
                  "hints line 2: control character 0x0 at column 13");
}

TEST(HintsLines, Fields) {
  std::string h = kHead;
  const std::string expected =
      "hints line 2: expected `module NAME VERSION FILE', fields separated by one space";
  ExpectMalformed(h + "modules a 1 a.ko\n",
                  "hints line 2: unknown record `modules' (expected `module' or `match')");
  ExpectMalformed(h + " module a 1 a.ko\n",
                  "hints line 2: unknown record `' (expected `module' or `match')");
  ExpectMalformed(h + "module\n", expected);
  ExpectMalformed(h + "module a\n", expected);
  ExpectMalformed(h + "module a 1\n", expected);
  ExpectMalformed(h + "module a  1 a.ko\n", expected);
  ExpectMalformed(h + "module a 1 \n", expected);
  ExpectMalformed(h + "module a 1 a.ko \n", "hints line 2: a space at the end of the line");
  ExpectMalformed(h + "module a 1 a.ko extra\n",
                  "hints line 2: text after the file name (`extra')");
  ExpectMalformed(h + "module a 1 my module.ko\n",
                  "hints line 2: text after the file name (`module.ko')");
}

TEST(HintsLines, ModuleName) {
  std::string h = std::string(kHead) + "module ok 1 ok.ko\n";
  ExpectMalformed(h + "module 9a 1 a.ko\n", "hints line 3: module name `9a' is not a C identifier");
  ExpectMalformed(h + "module a-b 1 a.ko\n",
                  "hints line 3: module name `a-b' is not a C identifier");
  std::string n63(63, 'n'), n64(64, 'n');
  TestAllocator alloc;
  Hints hints(alloc);
  ASSERT_TRUE(hints.parse(View(h + "module " + n63 + " 1 a.ko\n")).ok());
  ExpectMalformed(h + "module " + n64 + " 1 a.ko\n",
                  "hints line 3: module name `" + n64 + "' is longer than 63 characters");
}

TEST(HintsLines, Version) {
  std::string h = std::string(kHead) + "module ok 1 ok.ko\n";
  ExpectMalformed(h + "module a x1 a.ko\n", "hints line 3: version `x1' is not a number");
  ExpectMalformed(h + "module a 1x a.ko\n", "hints line 3: version `1x' is not a number");
  ExpectMalformed(h + "module a -1 a.ko\n", "hints line 3: version `-1' is not a number");
  ExpectMalformed(h + "module a +1 a.ko\n", "hints line 3: version `+1' is not a number");
  ExpectMalformed(h + "module a 0x10 a.ko\n", "hints line 3: version `0x10' is not a number");
  ExpectMalformed(h + "module a 4294967296 a.ko\n",
                  "hints line 3: version `4294967296' does not fit in 32 bits");
  ExpectMalformed(h + "module a 99999999999999999999999 a.ko\n",
                  "hints line 3: version `99999999999999999999999' does not fit in 32 bits");
  TestAllocator alloc;
  Hints hints(alloc);
  ASSERT_TRUE(hints.parse(View(h + "module a 4294967295 a.ko\nmodule b 007 b.ko\n")).ok());
  EXPECT_EQ(hints.entries[1].version, 4294967295u);
  EXPECT_EQ(hints.entries[2].version, 7u);
}

TEST(HintsLines, FilePaths) {
  std::string h = kHead;
  ExpectMalformed(h + "module a 1 ../a.ko\n", "hints line 2: file `../a.ko' has a `..' component");
  ExpectMalformed(h + "module a 1 x/../../a.ko\n",
                  "hints line 2: file `x/../../a.ko' has a `..' component");
  ExpectMalformed(h + "module a 1 x/..\n", "hints line 2: file `x/..' has a `..' component");
  ExpectMalformed(h + "module a 1 ..\n", "hints line 2: file `..' has a `..' component");
  ExpectMalformed(h + "module a 1 /boot/a.ko\n", "hints line 2: file `/boot/a.ko' is absolute");
}

TEST(HintsLines, LongBadFieldIsCut) {
  std::string field(300, '9');
  field[0] = 'x';
  ExpectMalformed(std::string(kHead) + "module a " + field + " a.ko\n",
                  "hints line 2: version `" + field.substr(0, 64) + "' is not a number");
}

TEST(Hints, FileProblem) {
  EXPECT_EQ(hint_file_problem("a.ko"), nullptr);
  EXPECT_EQ(hint_file_problem("sub/a.ko"), nullptr);
  EXPECT_EQ(hint_file_problem("./a.ko"), nullptr);
  EXPECT_EQ(hint_file_problem("..a.ko"), nullptr);
  EXPECT_EQ(hint_file_problem("a/...ko"), nullptr);
  EXPECT_STREQ(hint_file_problem(""), "is empty");
  EXPECT_STREQ(hint_file_problem("/a.ko"), "is absolute");
  EXPECT_STREQ(hint_file_problem("a b.ko"), "has a space");
  EXPECT_STREQ(hint_file_problem("a\n.ko"), "has a control character");
  EXPECT_STREQ(hint_file_problem("../a.ko"), "has a `..' component");
  EXPECT_STREQ(hint_file_problem("a/../b.ko"), "has a `..' component");
  EXPECT_STREQ(hint_file_problem("a/.."), "has a `..' component");
}

// ---- the writer ----

TEST(HintsWrite, ExactText) {
  TestAllocator alloc;
  Vec<char> out(alloc);
  HintEntry e[] = {
      {"echo", 3, "echo.ko"}, {"alpha", 0, "sub/pair.ko"}, {"beta", 4294967295u, "sub/pair.ko"}};
  ASSERT_TRUE(write_hints(e, 3, nullptr, 0, out).ok());
  EXPECT_EQ(std::string(out.begin(), out.end()),
            "modkit-hints 2\n"
            "module echo 3 echo.ko\n"
            "module alpha 0 sub/pair.ko\n"
            "module beta 4294967295 sub/pair.ko\n");
  EXPECT_EQ(alloc.allocations(), 1u);  // sized once
  Vec<char> none(alloc);
  ASSERT_TRUE(write_hints(nullptr, 0, nullptr, 0, none).ok());
  EXPECT_EQ(std::string(none.begin(), none.end()), "modkit-hints 2\n");
}

TEST(HintsWrite, RoundTrip) {
  TestAllocator alloc;
  std::vector<std::string> names, files;
  std::vector<HintEntry> in;
  for (int i = 0; i < 100; ++i) {
    names.push_back("mod_" + std::to_string(i % 7));
    files.push_back("dir" + std::to_string(i % 3) + "/f" + std::to_string(i) + ".ko");
  }
  for (int i = 0; i < 100; ++i)
    in.push_back({names[i].c_str(), static_cast<uint32_t>(i * 40000000u), files[i].c_str()});
  Vec<char> text(alloc);
  ASSERT_TRUE(write_hints(in.data(), in.size(), nullptr, 0, text).ok());
  Hints h(alloc);
  Result<void> parsed =
      h.parse(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(h.entries.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_STREQ(h.entries[i].module, in[i].module);
    EXPECT_EQ(h.entries[i].version, in[i].version);
    EXPECT_STREQ(h.entries[i].file, in[i].file);
  }
  Vec<char> again(alloc);
  ASSERT_TRUE(write_hints(h.entries.data(), h.entries.size(), nullptr, 0, again).ok());
  EXPECT_EQ(std::string(again.begin(), again.end()), std::string(text.begin(), text.end()));
}

TEST(HintsWrite, RefusesWhatCannotBeReadBack) {
  TestAllocator alloc;
  Vec<char> out(alloc);
  ASSERT_TRUE(out.push('#'));
  HintEntry bad_file[] = {{"a", 1, "a.ko"}, {"b", 1, "../b.ko"}};
  Result<void> r = write_hints(bad_file, 2, nullptr, 0, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kInvalid);
  EXPECT_STREQ(r.error().message(), "hints entry 1: file `../b.ko' has a `..' component");
  HintEntry spaced[] = {{"a", 1, "my a.ko"}};
  Result<void> r2 = write_hints(spaced, 1, nullptr, 0, out);
  ASSERT_FALSE(r2.ok());
  EXPECT_STREQ(r2.error().message(), "hints entry 0: file `my a.ko' has a space");
  HintEntry bad_name[] = {{"a b", 1, "a.ko"}};
  Result<void> r3 = write_hints(bad_name, 1, nullptr, 0, out);
  ASSERT_FALSE(r3.ok());
  EXPECT_STREQ(r3.error().message(), "hints entry 0: module name `a b' is not a C identifier");
  EXPECT_EQ(std::string(out.begin(), out.end()), "#");  // unchanged
}

// ---- choose(): preferred if present, else the highest in range ----

class HintsChoose : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(hints_
                    .parse(View(std::string(kHead) + "module buffer 2 buffer-2.ko\n"
                                                     "module echo 9 echo.ko\n"
                                                     "module buffer 5 buffer-5.ko\n"
                                                     "module buffer 3 buffer-3.ko\n"
                                                     "module buffer 5 buffer-5b.ko\n"
                                                     "module buffer 7 buffer-7.ko\n"))
                    .ok());
  }
  const char* Choose(const char* module, uint32_t min, uint32_t preferred, uint32_t max) {
    const HintEntry* e = hints_.choose(module, min, preferred, max);
    return e == nullptr ? nullptr : e->file;
  }
  TestAllocator alloc_;
  Hints hints_{alloc_};
};

TEST_F(HintsChoose, PreferredWhenPresent) {
  EXPECT_STREQ(Choose("buffer", 2, 3, 7), "buffer-3.ko");
  EXPECT_STREQ(Choose("buffer", 1, 2, 9), "buffer-2.ko");
  EXPECT_STREQ(Choose("buffer", 3, 3, 3), "buffer-3.ko");
}

TEST_F(HintsChoose, ElseHighestInRange) {
  EXPECT_STREQ(Choose("buffer", 2, 4, 7), "buffer-7.ko");
  EXPECT_STREQ(Choose("buffer", 2, 4, 6), "buffer-5.ko");  // the first of two 5s
  EXPECT_STREQ(Choose("buffer", 0, 0, 2), "buffer-2.ko");
}

TEST_F(HintsChoose, BoundariesAndNone) {
  EXPECT_STREQ(Choose("buffer", 7, 7, 7), "buffer-7.ko");
  EXPECT_EQ(Choose("buffer", 8, 8, 100), nullptr);
  EXPECT_EQ(Choose("buffer", 0, 1, 1), nullptr);
  EXPECT_STREQ(Choose("echo", 9, 9, 9), "echo.ko");
  EXPECT_EQ(Choose("echo", 10, 10, 10), nullptr);
  EXPECT_EQ(Choose("missing", 0, 0, UINT32_MAX), nullptr);
  EXPECT_EQ(Choose("buf", 0, 0, UINT32_MAX), nullptr);  // whole names only
  EXPECT_EQ(Choose("buffer", 6, 5, 4), nullptr);        // empty range
}

TEST(HintsChooseEmpty, NothingParsed) {
  TestAllocator alloc;
  Hints h(alloc);
  EXPECT_EQ(h.choose("a", 0, 0, UINT32_MAX), nullptr);
}

// Random damage to a valid index: accepted with every entry obeying the
// format, or refused naming a line; never a crash or a leak.
TEST(HintsFuzz, RandomDamage) {
  const std::string good = std::string(kHead) +
                           "# comment\n"
                           "module echo 3 echo.ko\n"
                           "module buffer 4294967295 sub/buffer.ko\n";
  const char alphabet[] = "mod ule#./\n\t\r0123456789-+x_";
  uint64_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return seed >> 33;
  };
  for (int iter = 0; iter < 20000; ++iter) {
    std::string t = good;
    int edits = 1 + static_cast<int>(next() % 3);
    for (int e = 0; e < edits && !t.empty(); ++e) {
      size_t at = next() % t.size();
      switch (next() % 3) {
        case 0:
          t[at] = alphabet[next() % (sizeof alphabet - 1)];
          break;
        case 1:
          t.erase(at, 1);
          break;
        default:
          t.insert(at, 1, alphabet[next() % (sizeof alphabet - 1)]);
          break;
      }
    }
    TestAllocator alloc;
    Hints h(alloc);
    Result<void> r = h.parse(View(t));
    if (!r.ok()) {
      ASSERT_EQ(std::string(r.error().message()).rfind("hints line ", 0), 0u)
          << r.error().message();
      continue;
    }
    for (const HintEntry& e : h.entries) {
      ASSERT_EQ(hint_file_problem(e.file), nullptr) << e.file;
      ASSERT_NE(e.module[0], '\0');
    }
  }
}

// ---- allocation and cost ----

TEST(HintsCost, EveryAllocationFailureReported) {
  std::string text = kHead;
  for (int i = 0; i < 20; ++i)
    text += "module m" + std::to_string(i) + " 1 m.ko\n";
  for (size_t n = 0;; ++n) {
    TestAllocator alloc(n);
    Hints h(alloc);
    Result<void> r = h.parse(View(text));
    if (r.ok()) {
      EXPECT_EQ(h.entries.size(), 20u);
      break;
    }
    EXPECT_EQ(r.error().code(), Errc::kNoMemory) << r.error().message();
    EXPECT_TRUE(h.entries.empty());
    ASSERT_LT(n, 20u);
  }
  TestAllocator none(0);
  Vec<char> out(none);
  HintEntry e[] = {{"a", 1, "a.ko"}};
  Result<void> w = write_hints(e, 1, nullptr, 0, out);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code(), Errc::kNoMemory);
  EXPECT_STREQ(w.error().message(), "hints: out of memory for 31 bytes");
}

TEST(HintsCost, LinearAndFewAllocations) {
  std::string text = kHead;
  const int n = 200000;
  for (int i = 0; i < n; ++i)
    text += "module module_" + std::to_string(i) + " " + std::to_string(i) + " d/m" +
            std::to_string(i) + ".ko\n";
  TestAllocator alloc;
  Hints h(alloc);
  auto start = std::chrono::steady_clock::now();
  Result<void> r = h.parse(View(text));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(h.entries.size(), static_cast<size_t>(n));
  EXPECT_LT(seconds, 5.0);
  EXPECT_LT(alloc.allocations(), 40u);  // the text once, the entries by doubling
  // A line of a megabyte is no worse than many short ones.
  std::string long_line = std::string(kHead) + "# " + std::string(1 << 20, 'c') + "\n";
  ASSERT_TRUE(h.parse(View(long_line)).ok());
}

// ---- match records (format version 2): driver auto-load ----

const char kHead2[] = "modkit-hints 2\nmodule simdrv 1 simdrv.ko\nmodule other 2 other.ko\n";

TEST(HintsMatch, Parses) {
  TestAllocator alloc;
  Hints h(alloc);
  std::string text = std::string(kHead2) +
                     "match simdrv simdrv simbus 10 ids 0x1af4 0x1001\n"
                     "match simdrv simdrv simbus 10 compat acme,widget\n"
                     "match other other_drv simbus 20 ids 0x1AF4 any\n";
  Result<void> r = h.parse(View(text));
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(h.matches.size(), 3u);
  EXPECT_STREQ(h.matches[0].module, "simdrv");
  EXPECT_STREQ(h.matches[0].driver, "simdrv");
  EXPECT_STREQ(h.matches[0].bus, "simbus");
  EXPECT_EQ(h.matches[0].priority, 10u);
  EXPECT_EQ(h.matches[0].entry.vendor, 0x1af4u);
  EXPECT_EQ(h.matches[0].entry.device, 0x1001u);
  EXPECT_STREQ(h.matches[1].entry.compat, "acme,widget");
  EXPECT_EQ(h.matches[2].entry.device, kMatchAny);

  // best_match: the highest priority among matching entries.
  const char* compat[] = {"acme,widget"};
  DeviceIds widget{0x1234, 1, compat, 1};
  ASSERT_NE(h.best_match("simbus", widget), nullptr);
  EXPECT_STREQ(h.best_match("simbus", widget)->module, "simdrv");
  DeviceIds virtio{0x1af4, 0x1001, nullptr, 0};
  EXPECT_STREQ(h.best_match("simbus", virtio)->module, "other");  // priority 20 > 10
  EXPECT_EQ(h.best_match("pci", virtio), nullptr);
  DeviceIds none{0x8086, 1, nullptr, 0};
  EXPECT_EQ(h.best_match("simbus", none), nullptr);
}

TEST(HintsMatch, BadRecordsRefused) {
  std::string h = kHead2;
  ExpectMalformed("modkit-hints 1\nmodule a 1 a.ko\nmatch a a simbus 1 ids 0x1 0x2\n",
                  "hints line 3: `match' records need format version 2 (the header says 1)");
  ExpectMalformed(h + "match nobody d simbus 1 ids 0x1 0x2\n",
                  "hints line 4: match names module `nobody', which no earlier `module' line "
                  "declares");
  ExpectMalformed("modkit-hints 2\nmatch a d simbus 1 ids 0x1 0x2\nmodule a 1 a.ko\n",
                  "hints line 2: match names module `a', which no earlier `module' line declares");
  ExpectMalformed(h + "match simdrv d simbus 1 ids 0x1\n",
                  "hints line 4: expected `match MODULE DRIVER BUS PRIORITY ids VENDOR DEVICE', "
                  "fields separated by one space");
  ExpectMalformed(h + "match simdrv d simbus 1 compat\n",
                  "hints line 4: expected `match MODULE DRIVER BUS PRIORITY compat STRING', "
                  "fields separated by one space");
  ExpectMalformed(h + "match simdrv d simbus 1 compat a b\n",
                  "hints line 4: text after the last field (`b')");
  ExpectMalformed(h + "match simdrv d simbus 1 ids 0x1 0x2 \n",
                  "hints line 4: a space at the end of the line");
  ExpectMalformed(h + "match simdrv d simbus 1 ids 0x1 0x2 more\n",
                  "hints line 4: text after the last field (`more')");
  ExpectMalformed(h + "match simdrv d simbus 1 pci 0x1 0x2\n",
                  "hints line 4: match kind `pci' is not `ids' or `compat'");
  ExpectMalformed(h + "match simdrv d-x simbus 1 ids 0x1 0x2\n",
                  "hints line 4: driver name `d-x' is not a C identifier");
  ExpectMalformed(
      h + "match simdrv " + std::string(32, 'd') + " simbus 1 ids 0x1 0x2\n",
      "hints line 4: driver name `" + std::string(32, 'd') + "' is longer than 31 characters");
  ExpectMalformed(h + "match simdrv d sim.bus 1 ids 0x1 0x2\n",
                  "hints line 4: bus name `sim.bus' is not a C identifier");
  ExpectMalformed(h + "match simdrv d simbus -1 ids 0x1 0x2\n",
                  "hints line 4: priority `-1' is not a number");
  ExpectMalformed(h + "match simdrv d simbus 4294967296 ids 0x1 0x2\n",
                  "hints line 4: priority `4294967296' does not fit in 32 bits");
  ExpectMalformed(h + "match simdrv d simbus 1 ids 1af4 0x2\n",
                  "hints line 4: vendor id `1af4' is not 0x and 1 to 8 hexadecimal digits");
  ExpectMalformed(h + "match simdrv d simbus 1 ids 0x123456789 0x2\n",
                  "hints line 4: vendor id `0x123456789' is not 0x and 1 to 8 hexadecimal digits");
  ExpectMalformed(h + "match simdrv d simbus 1 ids 0x 0x2\n",
                  "hints line 4: vendor id `0x' is not 0x and 1 to 8 hexadecimal digits");
  ExpectMalformed(h + "match simdrv d simbus 1 ids 0x1 0xg\n",
                  "hints line 4: device id `0xg' is not 0x and 1 to 8 hexadecimal digits, or "
                  "`any'");
  ExpectMalformed(h + "match simdrv d simbus 1 compat acme;rm\n",
                  "hints line 4: compatible string `acme;rm' has a character outside "
                  "[A-Za-z0-9,._+-]");
  ExpectMalformed(h + "match simdrv d simbus 1 compat " + std::string(64, 'c') + "\n",
                  "hints line 4: compatible string `" + std::string(64, 'c') +
                      "' is longer than 63 characters");
  ExpectMalformed(h + "matches simdrv d simbus 1 ids 0x1 0x2\n",
                  "hints line 4: unknown record `matches' (expected `module' or `match')");
}

TEST(HintsMatch, WriterRoundTrip) {
  TestAllocator alloc;
  HintEntry e[] = {{"simdrv", 1, "simdrv.ko"}};
  HintMatch m[] = {
      {"simdrv", "simdrv", "simbus", 10, {MatchKind::kIds, 0x1af4, 0x1001, ""}},
      {"simdrv", "simdrv", "simbus", 10, {MatchKind::kIds, 0, kMatchAny, ""}},
      {"simdrv", "simdrv", "simbus", 10, {MatchKind::kCompat, 0, 0, "acme,widget"}},
  };
  Vec<char> out(alloc);
  ASSERT_TRUE(write_hints(e, 1, m, 3, out).ok());
  std::string text(out.begin(), out.end());
  EXPECT_EQ(text,
            "modkit-hints 2\n"
            "module simdrv 1 simdrv.ko\n"
            "match simdrv simdrv simbus 10 ids 0x1af4 0x1001\n"
            "match simdrv simdrv simbus 10 ids 0x0 any\n"
            "match simdrv simdrv simbus 10 compat acme,widget\n");
  Hints h(alloc);
  ASSERT_TRUE(h.parse(View(text)).ok());
  ASSERT_EQ(h.matches.size(), 3u);
  EXPECT_EQ(h.matches[1].entry.device, kMatchAny);

  HintMatch orphan[] = {{"nobody", "d", "simbus", 1, {MatchKind::kIds, 1, 2, ""}}};
  Vec<char> bad(alloc);
  Result<void> r = write_hints(e, 1, orphan, 1, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_STREQ(r.error().message(), "hints match 0: module `nobody' has no entry");
  HintMatch bad_compat[] = {{"simdrv", "d", "simbus", 1, {MatchKind::kCompat, 0, 0, "a b"}}};
  Result<void> r2 = write_hints(e, 1, bad_compat, 1, bad);
  ASSERT_FALSE(r2.ok());
  EXPECT_STREQ(r2.error().message(),
               "hints match 0: compatible string `a b' has a character outside [A-Za-z0-9,._+-]");
  EXPECT_TRUE(bad.empty());
}

}  // namespace
}  // namespace mk::module
