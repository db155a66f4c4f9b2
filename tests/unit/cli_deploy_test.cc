// `codeswarm deploy` on the CLI side: what it prints for each outcome, its --json line, and its
// exit codes, with a stand-in for main's wiring. (The real deploy: tests/unit/deploy_test.cc,
// tests/e2e/slurm_deploy_e2e_test.cc.)
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "cli/deploy_command.h"
#include "cli/exit_codes.h"
#include "support/temp_dir.h"

namespace codeswarm::cli {
namespace {

DeployReport Report(std::string action, std::uint64_t bytes) {
  return {std::move(action),
          "hpc",
          "/home/a/cs/swarms/bin/codeswarm-0.1.0-9f27a52ba1e3",
          bytes,
          "0.1.0",
          std::string(64, 'a')};
}

TEST(CliDeployTest, SaysWhatItDid) {
  EXPECT_EQ(DescribeDeploy(Report("copied", 13790392)),
            "copied 13790392 bytes to hpc:/home/a/cs/swarms/bin/codeswarm-0.1.0-9f27a52ba1e3");
  EXPECT_EQ(DescribeDeploy(Report("already_there", 0)),
            "already there: hpc:/home/a/cs/swarms/bin/codeswarm-0.1.0-9f27a52ba1e3");
  EXPECT_EQ(DescribeDeploy(Report("replaced", 5)),
            "copied 5 bytes to hpc:/home/a/cs/swarms/bin/codeswarm-0.1.0-9f27a52ba1e3 "
            "(replacing a different or damaged copy)");
}

TEST(CliDeployTest, JsonIsOneDeployedEventWithEveryField) {
  boost::json::value line = boost::json::parse(DeployJsonLine(Report("copied", 7)));
  EXPECT_EQ(line, boost::json::parse(R"({"event":"deployed","data":{"action":"copied",
      "host":"hpc","path":"/home/a/cs/swarms/bin/codeswarm-0.1.0-9f27a52ba1e3",
      "bytes_copied":7,"version":"0.1.0","sha256":")" +
                                     std::string(64, 'a') + R"("}})"));
}

class CliDeployCommandTest : public ::testing::Test {
 protected:
  CliDeployCommandTest() {
    std::ofstream(config_) << R"({"cluster":{"backend":"slurm","workspace_root":"/w",)"
                           << R"("slurm":{"login_alias":"hpc"}}})";
    options_.config_path = config_;
  }

  int Run(Result<DeployReport> answer) {
    Wiring wiring;
    wiring.deploy = [&](const Config& config) -> Result<DeployReport> {
      seen_alias_ = config.SlurmLoginAlias();
      return answer;
    };
    return RunDeployCommand(options_, wiring, out_, err_);
  }

  test_support::TempDir tmp_{"cs-cli-deploy"};
  const std::string config_ = tmp_.path() + "/config.json";
  GlobalOptions options_;
  std::ostringstream out_, err_;
  std::string seen_alias_;
};

TEST_F(CliDeployCommandTest, PrintsTheOutcomeAndExitsZero) {
  EXPECT_EQ(Run(Report("already_there", 0)), kExitOk);
  EXPECT_EQ(seen_alias_, "hpc");  // the config reached the wiring
  EXPECT_EQ(out_.str(), "already there: hpc:/home/a/cs/swarms/bin/codeswarm-0.1.0-9f27a52ba1e3\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(CliDeployCommandTest, WithJsonStdoutHoldsOnlyTheDeployedLine) {
  options_.json = true;
  EXPECT_EQ(Run(Report("copied", 9)), kExitOk);
  EXPECT_EQ(out_.str(), DeployJsonLine(Report("copied", 9)) + "\n");
}

TEST_F(CliDeployCommandTest, ARefusalExitsOneWithTheReasonOnStderrAndNothingOnStdout) {
  options_.json = true;
  EXPECT_EQ(Run(Status::FailedPrecondition("x is dynamically linked")), kExitFailed);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "error: x is dynamically linked\n");
}

TEST_F(CliDeployCommandTest, ABadConfigIsAUsageErrorAndDeploysNothing) {
  std::ofstream(config_) << "{not json";
  EXPECT_EQ(Run(Report("copied", 1)), kExitUsage);
  EXPECT_EQ(seen_alias_, "");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(CliDeployCommandTest, NotesWhenTheWorkersDoNotRunThisCopy) {
  std::ofstream(config_) << R"({"cluster":{"backend":"slurm","workspace_root":"/w",)"
                         << R"("slurm":{"login_alias":"hpc","worker_command":"/opt/cs"}}})";
  EXPECT_EQ(Run(Report("already_there", 0)), kExitOk);
  EXPECT_EQ(err_.str(),
            "note: cluster.slurm.worker_command is set, so the workers run /opt/cs, not this "
            "copy\n");
}

}  // namespace
}  // namespace codeswarm::cli
