// Every verb of the built `modkit` has `--help` with an example: the verbs
// are read from `modkit --help` itself (so a new verb is covered without
// touching this test), and each one's help, and each of its own subcommands'
// help, must exit 0, show its usage, give at least one example command line
// of that verb, and say what the exit status means.
#include <stdlib.h>

#include <set>
#include <string>
#include <vector>

#include "exec/process.h"
#include "gtest/gtest.h"
#include "util/daemon_harness.h"

namespace mk::test {
namespace {

using modkit::exec_test::Command;
using modkit::exec_test::Outcome;
using modkit::exec_test::RunProcess;

std::string Modkit() {
  return mk::test::binary_dir(MODKIT_HELP_BINARY_DIR) + "/tools/modkit/modkit";
}

Outcome Help(const std::vector<std::string>& words) {
  Command c;
  c.argv = {Modkit()};
  c.argv.insert(c.argv.end(), words.begin(), words.end());
  c.argv.push_back("--help");
  char dir[] = "/tmp/modkit-help-XXXXXX";
  c.capture_prefix = std::string(mkdtemp(dir)) + "/help";
  Outcome o = RunProcess(c);
  unlink((c.capture_prefix + ".out").c_str());
  unlink((c.capture_prefix + ".err").c_str());
  rmdir(dir);
  return o;
}

// The names CLI11 lists under "Subcommands:" (two-space indent, the name,
// then its description).
std::vector<std::string> Subcommands(const std::string& help) {
  std::vector<std::string> out;
  bool on = false;
  for (const std::string& l : mk::test::lines(help)) {
    if (l == "Subcommands:" || l == "SUBCOMMANDS:") {
      on = true;
      continue;
    }
    if (!on) continue;
    if (l.empty() || l[0] != ' ') break;
    size_t s = l.find_first_not_of(' ');
    size_t e = l.find(' ', s);
    out.push_back(l.substr(s, e == std::string::npos ? std::string::npos : e - s));
  }
  return out;
}

bool MentionsExitStatus(std::string text) {
  for (char& c : text)
    c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return text.find("exit") != std::string::npos;
}

// Checks the help of `words` (a verb, or a verb and its subcommand), then of
// its subcommands; adds what it checked to *seen.
void CheckHelp(const std::vector<std::string>& words, std::set<std::string>* seen) {
  std::string verb;
  for (const std::string& w : words)
    verb += (verb.empty() ? "" : " ") + w;
  SCOPED_TRACE("modkit " + verb + " --help");
  seen->insert(verb);
  Outcome o = Help(words);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.err, "");
  EXPECT_NE(o.out.find("Usage: modkit " + verb), std::string::npos) << o.out;
  size_t example = o.out.find("Example");
  ASSERT_NE(example, std::string::npos) << "no example:\n" << o.out;
  // An example is a command line of this verb, after the heading.
  size_t line = o.out.find("modkit " + verb, example);
  char after = line == std::string::npos || line + 7 + verb.size() >= o.out.size()
                   ? '\0'
                   : o.out[line + 7 + verb.size()];
  EXPECT_TRUE(after == ' ' || after == '\n')
      << "no `modkit " << verb << " ...` line in the example:\n"
      << o.out;
  EXPECT_TRUE(MentionsExitStatus(o.out)) << "the exit status is not described:\n" << o.out;
  for (const std::string& sub : Subcommands(o.out)) {
    std::vector<std::string> deeper = words;
    deeper.push_back(sub);
    CheckHelp(deeper, seen);
  }
}

TEST(Help, EveryVerbHasHelpWithAnExample) {
  Outcome top = Help({});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  EXPECT_NE(top.out.find("Run `modkit VERB --help` for a verb's options and an example."),
            std::string::npos)
      << top.out;
  std::vector<std::string> verbs = Subcommands(top.out);
  std::set<std::string> seen;
  for (const std::string& v : verbs)
    CheckHelp({v}, &seen);
  // The list was read, and holds the verbs issue 6 names (a parse of the
  // help that found nothing would check nothing).
  for (const char* v : {"load", "unload", "stat", "sym", "params", "graph", "log", "shutdown",
                        "xref", "inspect", "exec", "link"})
    EXPECT_EQ(seen.count(v), 1u) << v << " is not in `modkit --help`:\n" << top.out;
}

TEST(Help, UnknownVerbIsAUsageError) {
  Command c;
  c.argv = {Modkit(), "frobnicate"};
  char dir[] = "/tmp/modkit-help-XXXXXX";
  c.capture_prefix = std::string(mkdtemp(dir)) + "/run";
  Outcome o = RunProcess(c);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err.rfind("modkit: unknown verb \"frobnicate\" (known: ", 0), 0u) << o.err;
  EXPECT_NE(o.err.find(", load, "), std::string::npos) << o.err;
  EXPECT_EQ(o.err.substr(o.err.size() - 22), "; run `modkit --help`\n") << o.err;
  unlink((c.capture_prefix + ".out").c_str());
  unlink((c.capture_prefix + ".err").c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace mk::test
