// The quoting that keeps config values and ids away from shells and from sbatch's parser. The
// shell quoter is checked against a real /bin/sh and bash: whatever goes in comes back out.
#include <gtest/gtest.h>

#include "common/run_command.h"
#include "common/subprocess.h"
#include "provider/shell_quote.h"

namespace codeswarm::provider {
namespace {

// Strings that would do something if a shell ever parsed them unquoted (or badly quoted).
const std::vector<std::string> kHostile = {
    "",
    "plain",
    "two words",
    "it's",
    "'",
    "''",
    "'\\''",
    "\"double\"",
    "$(touch /tmp/codeswarm-pwned)",
    "`touch /tmp/codeswarm-pwned`",
    "${HOME}",
    "$HOME",
    "a\\b\\\\c\\",
    "line one\nline two",
    "; rm -rf / #",
    "&& echo no ||",
    "| cat > /tmp/x",
    "* ? [a-z] ~",
    "!event",
    "tab\there",
    "-n",
    "--help",
    "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93",  // UTF-8
};

std::vector<std::string> SplitNul(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

TEST(SlurmShellQuoteTest, QuotesWithSingleQuotes) {
  EXPECT_EQ(ShellQuote("abc"), "'abc'");
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote("$(x) `y` \"z\""), "'$(x) `y` \"z\"'");
  EXPECT_EQ(ShellJoin({"squeue", "-o", "%i|%T"}), "'squeue' '-o' '%i|%T'");
}

TEST(SlurmShellQuoteTest, EveryHostileStringSurvivesShAndBashUnchanged) {
  for (const char* shell : {"/bin/sh", "/bin/bash"}) {
    for (const std::string& text : kHostile) {
      // printf %s <quoted>: the shell must hand printf exactly `text`.
      auto r = RunCommand({shell, "-c", "printf '%s' " + ShellQuote(text)}, {});
      ASSERT_TRUE(r.ok());
      EXPECT_TRUE(r->status.success()) << shell << ": " << r->stderr_text;
      EXPECT_EQ(r->stdout_text, text) << shell << " changed " << ShellQuote(text);
    }
  }
}

TEST(SlurmShellQuoteTest, AJoinedCommandLineSplitsBackIntoTheSameArgv) {
  std::vector<std::string> argv = {"printf", "%s\\0"};
  argv.insert(argv.end(), kHostile.begin() + 1, kHostile.end());  // printf skips a leading ""
  auto r = RunCommand({"/bin/sh", "-c", ShellJoin(argv)}, {});
  ASSERT_TRUE(r.ok());
  std::vector<std::string> expected(kHostile.begin() + 1, kHostile.end());
  EXPECT_EQ(SplitNul(r->stdout_text), expected);
}

TEST(SlurmShellQuoteTest, SbatchValuesAreBareOnlyWhenPlain) {
  EXPECT_EQ(SbatchQuote("debug"), "debug");
  EXPECT_EQ(SbatchQuote("01:00:00"), "01:00:00");
  EXPECT_EQ(SbatchQuote("/ws/swarms/s-1/slurm-%j.out"), "/ws/swarms/s-1/slurm-%j.out");
  EXPECT_EQ(SbatchQuote("B:USR1@120"), "B:USR1@120");
  EXPECT_EQ(SbatchQuote("two words"), "\"two words\"");
  EXPECT_EQ(SbatchQuote(""), "\"\"");
  // sbatch: a backslash makes the next character literal, inside quotes too; '#' unquoted
  // would start a comment.
  EXPECT_EQ(SbatchQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(SbatchQuote("x#y"), "\"x#y\"");
  EXPECT_EQ(SbatchQuote("$(touch p) `q` 'r'"), "\"$(touch p) `q` 'r'\"");
}

TEST(SlurmShellQuoteTest, SbatchValuesCannotHoldLineBreaks) {
  // A line break would end the #SBATCH comment and start a shell command.
  EXPECT_FALSE(SbatchQuote("debug\ntouch /tmp/pwned").has_value());
  EXPECT_FALSE(SbatchQuote("a\rb").has_value());
  EXPECT_FALSE(SbatchQuote(std::string("a\0b", 3)).has_value());
  EXPECT_FALSE(SbatchQuote("tab\there").has_value());
}

}  // namespace
}  // namespace codeswarm::provider
