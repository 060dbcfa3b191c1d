// modkit: the command-line front end of the modkit module system.
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "kernel_client.h"
#include "verbs.h"

int main(int argc, char** argv) {
  // Everything after the first "--" belongs to the program `exec` runs.
  std::vector<std::string> program_args;
  int own = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      own = i;
      for (int j = i + 1; j < argc; ++j)
        program_args.emplace_back(argv[j]);
      break;
    }
  }

  CLI::App app{"modkit: load, link and inspect kernel modules (ELF relocatable objects)", "modkit"};
  app.require_subcommand(1);
  app.footer("Run `modkit VERB --help` for a verb's options and an example.");
  std::map<CLI::App*, modkit::tool::Run> verbs;
  {
    modkit::tool::Run run = modkit::tool::add_exec(app, &program_args);
    verbs[app.get_subcommands({}).back()] = run;
  }
  {
    modkit::tool::Run run = modkit::tool::add_xref(app);
    verbs[app.get_subcommands({}).back()] = run;
  }
  {
    modkit::tool::Run run = modkit::tool::add_sym(app);
    verbs[app.get_subcommands({}).back()] = run;
  }
  for (auto add : {&modkit::tool::add_keygen, &modkit::tool::add_sign, &modkit::tool::add_verify,
                   &modkit::tool::add_inspect, &modkit::tool::add_link}) {
    modkit::tool::Run run = add(app);
    verbs[app.get_subcommands({}).back()] = run;
  }
  for (auto& [sub, run] : modkit::tool::add_kernel_verbs(app))
    verbs[sub] = run;
  {
    modkit::tool::Run run = modkit::tool::add_params(app);
    verbs[app.get_subcommands({}).back()] = run;
  }
  for (auto& [sub, run] : modkit::tool::add_device_verbs(app))
    verbs[sub] = run;

  // CLI11 would say only "A subcommand is required" for a mistyped verb.
  if (own > 1 && argv[1][0] != '-') {
    std::string known;
    bool found = false;
    for (CLI::App* sub : app.get_subcommands({})) {
      found = found || sub->get_name() == argv[1];
      known += (known.empty() ? "" : ", ") + sub->get_name();
    }
    if (!found) {
      fprintf(stderr, "modkit: unknown verb \"%s\" (known: %s); run `modkit --help`\n", argv[1],
              known.c_str());
      return 2;
    }
  }

  try {
    app.parse(own, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;  // usage errors: 2, as for most Unix tools
  }
  for (auto& [sub, run] : verbs) {
    if (!sub->parsed()) continue;
    try {
      return run();
    } catch (const nlohmann::json::exception& e) {
      // A field of modkitd's reply has another type than this modkit reads it as.
      fprintf(stderr, "modkit %s: cannot read modkitd's reply (%s); is it the same version?\n",
              sub->get_name().c_str(), e.what());
      return modkit::tool::kUnreachable;
    }
  }
  return 2;
}
