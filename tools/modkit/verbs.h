// The modkit command's verbs. Each registers its subcommand on the CLI11 app
// and returns the function that runs it (exit status).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace modkit::tool {

using Run = std::function<int()>;

// `exec` takes the arguments after "--" (the program's own) separately.
Run add_exec(CLI::App& app, std::vector<std::string>* program_args);
// `xref DIR`: the hints index of a module directory.
Run add_xref(CLI::App& app);

}  // namespace modkit::tool
