#include "tools/ztc/cli.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <memory>
#include <optional>
#include <ostream>

#include "model/values.h"
#include "tools/ztc/commands.h"
#include "tools/ztc/explain_command.h"
#include "tools/ztc/preflight_command.h"
#include "tools/ztc/set_commands.h"
#include "tools/ztc/stats_command.h"
#include "tools/ztc/trace_command.h"

namespace ztc {
namespace {

// CLI11 validates the shape; the NAME=VALUE split is ours so the error can
// name the flag.
bool parse_overrides(const std::vector<std::string>& defines, Overrides* out, std::string* error) {
  for (const std::string& define : defines) {
    std::optional<std::pair<std::string, std::string>> parameter = split_name_value(define);
    if (!parameter) {
      *error = "-D " + define + ": expected NAME=VALUE";
      return false;
    }
    out->push_back(std::move(*parameter));
  }
  return true;
}

// An option that names something (a file, a namespace, a set) and is given
// as '' is a mistake, most often an unset shell variable: `--netns "$NS"`
// would otherwise quietly mean the host's namespace.
CLI::Validator names(const std::string& what) {
  return CLI::Validator(
      [what](std::string& value) -> std::string {
        return value.empty() ? "must not be empty (it names " + what + ")" : "";
      },
      "", "non-empty");
}

// --lock-timeout SECONDS: a plain decimal (0 = do not wait), at most a day;
// milliseconds are what the lock counts in.
constexpr int kMaxLockTimeoutSeconds = 86400;

std::optional<int> parse_seconds_as_ms(const std::string& text) {
  size_t digits = 0, dot = std::string::npos;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] >= '0' && text[i] <= '9') {
      ++digits;
    } else if (text[i] == '.' && dot == std::string::npos) {
      dot = i;
    } else {
      return std::nullopt;
    }
  }
  if (digits == 0 || digits > 12) return std::nullopt;
  double seconds = std::strtod(text.c_str(), nullptr);
  if (seconds > kMaxLockTimeoutSeconds) return std::nullopt;
  return static_cast<int>(seconds * 1000 + 0.5);
}

CLI::Validator seconds() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (parse_seconds_as_ms(value)) return "";
        return "'" + value + "' is not a number of seconds from 0 to " +
               std::to_string(kMaxLockTimeoutSeconds);
      },
      "", "SECONDS");
}

void add_policy_options(CLI::App* command, PolicyOptions& policy,
                        std::vector<std::string>& defines) {
  command->add_option("FILE", policy.file, "policy file (.zt), or - for stdin")
      ->required()
      ->check(names("a policy file, or - for stdin"));
  command->add_option("-D,--define", defines, "set a parameter: -D NAME=VALUE (repeatable)")
      ->type_name("NAME=VALUE");
  command->add_option("--include-dir", policy.include_dirs, "also allow includes from this tree")
      ->type_name("DIR");
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"ztc: compile traffic-capture policy into nftables and policy routing"};
  app.set_version_flag("--version", std::string("ztc ") + ZTC_VERSION);
  app.require_subcommand(1);

  CompileOptions compile;
  std::vector<std::string> compile_defines;
  CLI::App* compile_cmd =
      app.add_subcommand("compile", "print what would be installed (nft ruleset, routing)");
  add_policy_options(compile_cmd, compile.policy, compile_defines);
  compile_cmd->add_option("--emit", compile.emit, "what to print")
      ->check(CLI::IsMember(
          {"all", "nft", "json", "routes", "routes-ipv4", "routes-ipv6", "ast", "ir"}))
      ->default_str("all");
  compile_cmd->add_option("-o,--output", compile.output, "write to this file instead of stdout")
      ->check(names("the output file"));
  compile_cmd->add_flag("--timings", compile.timings, "print the time of each stage on stderr");
  compile_cmd
      ->add_option("--against", compile.against,
                   "warn about collisions with known owners (cilium,calico,...)")
      ->delimiter(',');

  // Text of --lock-timeout per command, turned into NodeOptions after parsing.
  std::vector<std::pair<std::string*, NodeOptions*>> lock_timeouts;
  std::vector<std::unique_ptr<std::string>> lock_timeout_texts;
  auto add_node_options = [&](CLI::App* command, NodeOptions& node, bool takes_lock) {
    command->add_option("--netns", node.netns, "act inside this network namespace (ip netns)")
        ->check(names("a network namespace, as `ip netns list` shows them"));
    if (!takes_lock) return;
    lock_timeout_texts.push_back(std::make_unique<std::string>());
    command
        ->add_option("--lock-timeout", *lock_timeout_texts.back(),
                     "wait at most this long for another ztc in the namespace (default 30)")
        ->type_name("SECONDS")
        ->check(seconds());
    lock_timeouts.emplace_back(lock_timeout_texts.back().get(), &node);
  };
  auto add_apply_command = [&](const char* name, const char* help, LoadOptions& options,
                               std::vector<std::string>& defines, bool dry_run) {
    CLI::App* command = app.add_subcommand(name, help);
    add_policy_options(command, options.policy, defines);
    add_node_options(command, options.node, true);
    if (dry_run) {
      command->add_flag("--dry-run", options.dry_run,
                        "check everything against the kernel and print the plan; change nothing");
    }
    return command;
  };
  LoadOptions load_options, unload_options, diff_options;
  std::vector<std::string> load_defines, unload_defines, diff_defines;
  CLI::App* load_cmd =
      add_apply_command("load", "apply the policy atomically (nft table, rules, routes, sysctls)",
                        load_options, load_defines, true);
  load_cmd->add_flag("--replace", load_options.replace,
                     "also when that removes another ztc table, or a set that holds members");
  CLI::App* unload_cmd =
      add_apply_command("unload", "remove the policy's table and every ztc rule and route",
                        unload_options, unload_defines, true);
  CLI::App* diff_cmd = add_apply_command(
      "diff", "show what differs between the node and the policy (exit 1 if anything)",
      diff_options, diff_defines, false);
  diff_cmd->add_flag("--members", diff_options.members,
                     "also compare the members of managed sets and their routes");
  load_cmd->add_flag("--strict", load_options.strict,
                     "refuse to load (exit 1, node unchanged) when preflight finds anything");
  PreflightOptions preflight_options;
  std::vector<std::string> preflight_defines;
  CLI::App* preflight_cmd = app.add_subcommand(
      "preflight", "find what on the node would fight the policy (exit 1 if anything)");
  add_policy_options(preflight_cmd, preflight_options.policy, preflight_defines);
  add_node_options(preflight_cmd, preflight_options.node, false);
  preflight_cmd->add_flag("--json", preflight_options.json, "print {\"conflicts\": [...]}");
  NodeOptions status_options;
  bool status_json = false;
  CLI::App* status_cmd = app.add_subcommand("status", "what ztc owns on this node");
  add_node_options(status_cmd, status_options, false);
  status_cmd->add_flag("--json", status_json, "print one JSON object");
  StatsOptions stats_options;
  std::vector<std::string> stats_defines;
  CLI::App* stats_cmd = app.add_subcommand(
      "stats", "packets and bytes per policy rule, set sizes, routes, last load, drift");
  add_policy_options(stats_cmd, stats_options.policy, stats_defines);
  add_node_options(stats_cmd, stats_options.node, false);
  auto* stats_json_flag =
      stats_cmd->add_flag("--json", stats_options.json, "print one JSON object");
  stats_cmd
      ->add_flag("--prometheus", stats_options.prometheus,
                 "print Prometheus text (node_exporter's textfile collector)")
      ->excludes(stats_json_flag);

  TraceOptions trace_options;
  std::vector<std::string> trace_defines;
  CLI::App* trace_cmd = app.add_subcommand(
      "trace", "follow live packets through the policy's lines (nftrace), then clean up");
  add_policy_options(trace_cmd, trace_options.policy, trace_defines);
  add_node_options(trace_cmd, trace_options.node, false);
  trace_cmd->add_option("--count", trace_options.count, "stop after this many packets (default 10)")
      ->check(CLI::Range(1, 100000));
  trace_cmd
      ->add_option("--timeout", trace_options.timeout_seconds,
                   "stop after this many seconds (default 60)")
      ->check(CLI::Range(0.1, 86400.0));
  trace_cmd->add_option(
      "MATCH", trace_options.match,
      "packet words as for explain: iif NAME | local, tcp|udp|icmp, saddr A, daddr A, "
      "sport N, dport N, mark V, ct mark V");

  // ztc set add|del|list|sync FILE SET ...: see tools/ztc/set_commands.h.
  CLI::App* set_cmd = app.add_subcommand(
      "set", "change the members of a managed set and their derived routes, without a reload");
  set_cmd->require_subcommand(1);
  struct SetCommand {
    CLI::App* command;
    SetOptions options;
    std::vector<std::string> defines;
    int (*run)(const SetOptions&, std::ostream&, std::ostream&);
  };
  std::vector<std::unique_ptr<SetCommand>> set_commands;
  auto add_set_command = [&](const char* name, const char* help, const char* elements_help,
                             int (*run)(const SetOptions&, std::ostream&, std::ostream&)) {
    auto command = std::make_unique<SetCommand>();
    command->run = run;
    command->command = set_cmd->add_subcommand(name, help);
    add_policy_options(command->command, command->options.policy, command->defines);
    command->command->add_option("SET", command->options.set, "a managed set of the policy")
        ->required()
        ->check(names("a managed set of the policy"));
    if (elements_help) {
      command->command->add_option("ELEMENT", command->options.elements, elements_help)->required();
    }
    add_node_options(command->command, command->options.node, true);
    set_commands.push_back(std::move(command));
    return set_commands.back().get();
  };
  const char* element_words =
      "elements; each may be followed by `comment TEXT` (10.244.1.5 comment pod-uid)";
  add_set_command("add", "enrol elements: set element and its routes, or nothing on failure",
                  element_words, run_set_add);
  add_set_command("del", "remove elements and their routes (absent ones are skipped)",
                  element_words, run_set_del);
  add_set_command("list", "print the members, one per line, in the --from format", nullptr,
                  run_set_list);
  SetCommand* sync =
      add_set_command("sync", "make the members exactly those of a file (an agent's re-sync)",
                      nullptr, run_set_sync);
  sync->command
      ->add_option("--from", sync->options.from,
                   "members, one `ELEMENT [comment \"TEXT\"]` a line (# comments); - for stdin")
      ->required()
      ->check(names("a members file, or - for stdin"));
  sync->command->add_flag("--allow-empty", sync->options.allow_empty,
                          "let an empty member list remove every member");
  for (auto& command : set_commands) {
    if (command->run == run_set_list) continue;
    command->command->add_flag("-v,--verbose", command->options.verbose,
                               "print each element and route changed");
  }

  ExplainOptions explain_options;
  std::vector<std::string> explain_defines;
  CLI::App* explain_cmd = app.add_subcommand(
      "explain", "what the policy does to one packet: every hook, rule, mark and the route");
  add_policy_options(explain_cmd, explain_options.policy, explain_defines);
  explain_cmd
      ->add_option("--member", explain_options.members,
                   "a run-time member of a managed set (repeatable)")
      ->type_name("SET=ELEMENT")
      ->allow_extra_args(false);  // one value each: the PACKET words follow
  explain_cmd
      ->add_option("--netns", explain_options.netns,
                   "also read live members, local addresses and the main table (read only)")
      ->check(names("a network namespace, as `ip netns list` shows them"));
  explain_cmd->add_flag("--json", explain_options.json, "print one JSON object");
  explain_cmd
      ->add_option("PACKET", explain_options.packet,
                   "iif NAME | local, tcp|udp|icmp, saddr A, daddr A, sport N, dport N, "
                   "mark V, ct mark V")
      ->required();

  // CLI11 says only "A subcommand is required" for `ztc frobnicate`: name it.
  auto is_command = [&](const std::string& word) {
    for (const CLI::App* command : app.get_subcommands({})) {
      if (command->get_name() == word) return true;
    }
    return false;
  };
  if (argc > 1) {
    std::string first = argv[1];
    bool global_flag =
        first == "-h" || first == "--help" || first == "--help-all" || first == "--version";
    if (first[0] != '-' ? !is_command(first) : !global_flag) {
      err << "ztc: error: unknown " << (first[0] == '-' ? "option" : "command") << " '" << first
          << "'\nRun 'ztc --help' for usage.\n";
      return kExitUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::CallForVersion&) {
    out << "ztc " << ZTC_VERSION << "\n";
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    err << "ztc: error: " << e.what() << "\n";
    err << "Run 'ztc --help' for usage.\n";
    return kExitUsage;
  }

  for (const auto& [text, node] : lock_timeouts) {
    if (!text->empty()) node->lock_timeout_ms = *parse_seconds_as_ms(*text);
  }

  std::string error;
  if (compile_cmd->parsed()) {
    if (!parse_overrides(compile_defines, &compile.policy.overrides, &error)) {
      err << "ztc: error: " << error << "\n";
      return kExitUsage;
    }
    return run_compile(compile, out, err);
  }
  struct Apply {
    CLI::App* command;
    LoadOptions* options;
    std::vector<std::string>* defines;
    int (*run)(const LoadOptions&, std::ostream&, std::ostream&);
  };
  for (const Apply& apply : {Apply{load_cmd, &load_options, &load_defines, run_load},
                             Apply{unload_cmd, &unload_options, &unload_defines, run_unload},
                             Apply{diff_cmd, &diff_options, &diff_defines, run_diff}}) {
    if (!apply.command->parsed()) continue;
    if (!parse_overrides(*apply.defines, &apply.options->policy.overrides, &error)) {
      err << "ztc: error: " << error << "\n";
      return kExitUsage;
    }
    return apply.run(*apply.options, out, err);
  }
  if (preflight_cmd->parsed()) {
    if (!parse_overrides(preflight_defines, &preflight_options.policy.overrides, &error)) {
      err << "ztc: error: " << error << "\n";
      return kExitUsage;
    }
    return run_preflight(preflight_options, out, err);
  }
  if (status_cmd->parsed()) return run_status(status_options, status_json, out, err);
  if (trace_cmd->parsed()) {
    if (!parse_overrides(trace_defines, &trace_options.policy.overrides, &error)) {
      err << "ztc: error: " << error << "\n";
      return kExitUsage;
    }
    return run_trace(trace_options, out, err);
  }
  if (stats_cmd->parsed()) {
    if (!parse_overrides(stats_defines, &stats_options.policy.overrides, &error)) {
      err << "ztc: error: " << error << "\n";
      return kExitUsage;
    }
    return run_stats(stats_options, out, err);
  }
  if (explain_cmd->parsed()) {
    if (!parse_overrides(explain_defines, &explain_options.policy.overrides, &error)) {
      err << "ztc: error: " << error << "\n";
      return kExitUsage;
    }
    return run_explain(explain_options, out, err);
  }
  for (auto& command : set_commands) {
    if (!command->command->parsed()) continue;
    if (!parse_overrides(command->defines, &command->options.policy.overrides, &error)) {
      err << "ztc: error: " << error << "\n";
      return kExitUsage;
    }
    return command->run(command->options, out, err);
  }
  return kExitUsage;
}

}  // namespace ztc
