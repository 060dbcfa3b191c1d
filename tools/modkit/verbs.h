// The modkit command's verbs. Each registers its subcommand on the CLI11 app
// and returns the function that runs it (exit status).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace modkit::tool {

using Run = std::function<int()>;

// `exec` takes the arguments after "--" (the program's own) separately.
Run add_exec(CLI::App& app, std::vector<std::string>* program_args);
// `xref DIR`: the hints index of a module directory.
Run add_xref(CLI::App& app);
// `keygen -o KEY`, `sign --key KEY FILE.ko`, `verify --key KEY.pub FILE.ko...`:
// module signatures (hosted/signing_key.h).
Run add_keygen(CLI::App& app);
Run add_sign(CLI::App& app);
Run add_verify(CLI::App& app);
// `inspect FILE.ko`: a module file's metadata, imports, sections and verdict.
Run add_inspect(CLI::App& app);
// `link FILE.ko --base ADDR --symbols FILE -o OUT`: an offline link for a fixed address.
Run add_link(CLI::App& app);
// `sym NAME | --addr ADDR | --ksyms OUT`: symbol queries and the ksyms image.
Run add_sym(CLI::App& app);
// `params [MODULE] [name=value...]`: tunables of loaded modules (params.cc).
Run add_params(CLI::App& app);
// The verbs that talk to a running modkitd over its control socket (load,
// unload, stat, graph, log, shutdown): each subcommand with its function.
std::vector<std::pair<CLI::App*, Run>> add_kernel_verbs(CLI::App& app);
// One request to the running kernel for `verb` (kernel_verbs.cc), on `socket`
// or else the default one. 0 with the reply; otherwise the exit status (1
// refused, 3 unreachable) after saying why on stderr (and printing the reply
// when json_out).
int kernel_call(const char* verb, const std::string& socket, bool json_out,
                const nlohmann::json& request, nlohmann::json* reply);
// `devices` (the bus tree) and `device add|remove` (hot-plug), devices.cc.
std::vector<std::pair<CLI::App*, Run>> add_device_verbs(CLI::App& app);

}  // namespace modkit::tool
