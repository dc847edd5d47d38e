// xnas-search: neural architecture search on Fashion-MNIST or a user's data set (IDX, CIFAR,
// NumPy or CSV files; classification or regression) from the command line. Searches a space with a
// strategy, writes everything it learned to --out, then retrains the best architecture on the whole
// training set and evaluates the test set once. The tool is a front-end of
// xnas::experiment::run_main_job: every option is a field of xnas::experiment::options.
//
//   xnas-search --space chain --strategy tpe --trials 20 --epochs 1 --out out/run1
//
// Run with --help for every option.

#include "xnas_search_cli.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <xnas/experiment/main_job.hpp>
#ifdef XNAS_WITH_MPI
#include <xnas/experiment/mpi_backend.hpp>
#endif

namespace fs = std::filesystem;

int main(int argc, char** argv) {
#ifdef XNAS_WITH_MPI
    xnas::mpi::session mpi_session(argc, argv);
#endif
    xnas::experiment::options c;
    CLI::App app{
        "xnas-search: neural architecture search on Fashion-MNIST or your own data set.\n"
        "Writes options.json, command.toml, journal.jsonl, split.json, trials.csv, pareto.csv,\n"
        "best.json, best_model.xnas (the retrained network; also as best_model.onnx with\n"
        "--export-onnx) and report.html to --out,\n"
        "retrains the best architecture on the full training set, evaluates the test set once,\n"
        "and prints a JSON summary on stdout."};
    CLI::Option* config_file = xnas_search::add_options(app, c);
    try {
        app.parse(argc, argv);
        // Options not given again come from the run's own record, so a killed run resumes with
        // `--out DIR --resume` alone; the trial options are still checked against options.json.
        const fs::path recorded = fs::path(c.out) / "command.toml";
        std::error_code ec;
        if (c.resume && config_file->count() == 0 && fs::exists(recorded, ec)) {
            config_file->default_str(recorded.string());
            app.clear();
            app.parse(argc, argv);
        }
    } catch (const CLI::ConfigError& e) {
        // CLI11's message names the key but not the file it came from, and words an unknown
        // key as a parse failure; the fallback keeps its message for other config errors.
        const std::string file =
            config_file->count() ? config_file->as<std::string>() : config_file->get_default_str();
        const std::string what = e.what();
        const std::string_view extra = "INI was not able to parse ";
        if (what.starts_with(extra))
            std::fprintf(stderr, "xnas-search: %s: unknown option \"%s\" (see --help)\n",
                         file.c_str(), what.substr(extra.size()).c_str());
        else
            std::fprintf(stderr, "xnas-search: %s: %s\n", file.c_str(), what.c_str());
        return 2;
    } catch (const CLI::ValidationError& e) {
        // A value read from a config file (command.toml on a resume) is named with the file and
        // its key: the command line does not show it. CLI11 words the error "--name: why".
        const std::string what = e.what();
        const std::string name = what.substr(0, what.find(": "));
        bool typed = false;
        for (int i = 1; i < argc; ++i)
            typed = typed || argv[i] == name || std::string_view(argv[i]).starts_with(name + "=");
        const std::string file =
            config_file->count() ? config_file->as<std::string>() : config_file->get_default_str();
        if (typed || file.empty() || !name.starts_with("--"))
            return app.exit(e) == 0 ? 0 : 2;
        std::fprintf(stderr, "xnas-search: %s: %s\n", file.c_str(), what.substr(2).c_str());
        return 2;
    } catch (const CLI::ParseError& e) {
        // CLI11's own codes (105 for a value out of range) would tell scripts nothing more than
        // the usage error's 2; --help stays 0.
        return app.exit(e) == 0 ? 0 : 2;
    }
    c.command_toml = app.config_to_str();
    try {
        xnas::experiment::validate(c);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "xnas-search: %s\n", e.what());
        return 2;
    }

#ifdef XNAS_WITH_MPI
    const xnas::experiment::mpi_backend backend;
#else
    const xnas::experiment::local_backend backend;
#endif
    try {
        const auto result = xnas::experiment::run_main_job(c, std::cerr, backend);
        if (!result.worker)
            std::printf("%s\n", result.summary.dump().c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "xnas-search: %s\n", e.what());
#ifdef XNAS_WITH_MPI
        if (backend.ranks() > 1)
            backend.abort(1);
#endif
        return 1;
    }
}
