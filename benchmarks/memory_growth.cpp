// Resident memory of a long search: every strategy of the registry searches NAS-Bench-201's cell
// space for --trials trials with a function evaluator, journaled to a file as xnas-search does,
// and the process's resident set is read as the study is told trial --early and the last trial.
// A search keeps every trial in its study (and a model-based strategy its observations), so
// memory grows by a record per trial told; what must not grow is anything beyond that (a leak,
// a cache without bound). Both are printed per trial.
//
//   memory_growth [--trials 1000] [--early 100] [--strategies random,evolution,...]
//                 [--table nb201.csv]
//
// With --table the evaluator looks every trial up in a NAS-Bench-201-style table (as
// xnas-tabular does; benchmarks/make_nb201_table.py writes one), maximizing its val_acc and
// minimizing its train_time, so the process holds the table as a tabular benchmark's does.
// Without it, a few arithmetic operations score each cell and the process holds nothing but
// the search: the smallest process a search can run in.
//
// Each strategy runs in a child process of its own, so one's heap does not hide another's
// growth. Prints one line per strategy (RSS in MiB after --early trials and after the last, the
// growth in percent and in bytes per trial, the journal's bytes per trial) and a JSON line.

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>
#include <xnas/core/json.hpp>
#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/evaluate/tabular_evaluator.hpp>
#include <xnas/experiment/strategy_registry.hpp>
#include <xnas/run/search.hpp>
#include <xnas/space/cell_space.hpp>

namespace {

using space_t = xnas::cell_space;

/// Resident set size of this process in MiB (/proc/self/statm's second field).
double rss_mib() {
    std::ifstream statm("/proc/self/statm");
    std::size_t total = 0, resident = 0;
    statm >> total >> resident;
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) /
           (1024.0 * 1024.0);
}

std::map<std::string, double> objectives(const space_t::architecture& a) {
    static const double gain[5] = {-3, 0, 1, 2, -1};
    double v = 0;
    for (std::size_t e = 0; e < a.ops.size(); ++e)
        v += gain[a.ops[e]] * (1.0 + 0.1 * static_cast<double>(e));
    return {{"score", v}, {"size", static_cast<double>(a.ops[0])}};
}

/// Runs one strategy's search and writes "early_mib end_mib trials journal_bytes" to `out_fd`.
/// Both readings are taken at the same point, as the study is told trial --early and trial
/// --trials, so that code run once at the end of a search (its last journal records, the
/// strategy's teardown) is not counted as growth.
template <class Evaluator>
void measure(const xnas::experiment::strategy_registry<space_t>& registry, const std::string& name,
             const space_t& space, Evaluator evaluator, const xnas::objective& primary,
             const xnas::objective& secondary, std::size_t trials, std::size_t early, int out_fd) {
    xnas::experiment::strategy_settings settings; // field by field: see run_tabular
    settings.primary = primary;
    settings.secondary = secondary;
    settings.budget = trials;
    const std::filesystem::path journal =
        std::filesystem::temp_directory_path() /
        ("xnas-memory-growth-" + std::to_string(getpid()) + ".jsonl");
    std::filesystem::remove(journal);
    // A first reading before the search, so that the pages of the reading's own code become
    // resident here and not between the two readings compared.
    rss_mib();
    double at_early = 0, at_end = 0;
    struct sampler {
        std::size_t early, last;
        double *at_early, *at_end;
        void on_result(const xnas::scored<space_t::architecture>&,
                       const xnas::study<space_t::architecture>& s) {
            if (s.history.size() == early)
                *at_early = rss_mib();
            if (s.history.size() == last)
                *at_end = rss_mib();
        }
    };
    const auto study = xnas::search(space, registry.make(name, settings), std::move(evaluator),
                                    {.objectives = {settings.primary, settings.secondary},
                                     .max_trials = trials,
                                     .seed = 1,
                                     .journal = journal.string(),
                                     .fsync = false},
                                    sampler{early, trials, &at_early, &at_end});
    const auto journal_bytes = std::filesystem::file_size(journal);
    std::filesystem::remove(journal);
    const std::string line = std::to_string(at_early) + " " + std::to_string(at_end) + " " +
                             std::to_string(study.history.size()) + " " +
                             std::to_string(journal_bytes) + "\n";
    if (write(out_fd, line.data(), line.size()) < 0)
        std::perror("memory_growth: write");
}

/// `table`: the CSV to look trials up in; empty, the synthetic objectives above.
void measure(const xnas::experiment::strategy_registry<space_t>& registry, const std::string& name,
             const std::string& table, std::size_t trials, std::size_t early, int out_fd) {
    const space_t space = space_t::nb201();
    if (table.empty())
        measure(registry, name, space, xnas::function_evaluator(objectives, {}),
                {"score", xnas::direction::maximize}, {"size", xnas::direction::minimize}, trials,
                early, out_fd);
    else
        measure(registry, name, space, xnas::make_tabular_evaluator(table, space),
                {"val_acc", xnas::direction::maximize}, {"train_time", xnas::direction::minimize},
                trials, early, out_fd);
}

} // namespace

int main(int argc, char** argv) {
    std::size_t trials = 1000, early = 100;
    std::string table;
    std::vector<std::string> names;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--trials")
            trials = std::stoul(argv[i + 1]);
        else if (flag == "--early")
            early = std::stoul(argv[i + 1]);
        else if (flag == "--table")
            table = argv[i + 1];
        else if (flag == "--strategies") {
            std::stringstream list(argv[i + 1]);
            for (std::string n; std::getline(list, n, ',');)
                names.push_back(n);
        } else {
            std::fprintf(stderr, "memory_growth: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (early == 0 || early >= trials) {
        std::fprintf(stderr, "memory_growth: --early must be in [1, --trials)\n");
        return 2;
    }
    const auto registry = xnas::experiment::shipped_strategies<space_t>();
    if (names.empty())
        names = registry.names();

    std::printf("%-18s %7s %10s %10s %9s %12s %14s\n", "strategy", "trials", "early MiB", "end MiB",
                "growth %", "B/trial", "journal B/trial");
    xnas::json::value out;
    out["trials"] = trials;
    out["early"] = early;
    out["table"] = table;
    for (const auto& name : names) {
        int fds[2];
        if (pipe(fds) != 0) {
            std::perror("memory_growth: pipe");
            return 1;
        }
        const pid_t child = fork();
        if (child == 0) {
            close(fds[0]);
            measure(registry, name, table, trials, early, fds[1]);
            _exit(0);
        }
        close(fds[1]);
        std::string text;
        char buf[256];
        for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
            text.append(buf, static_cast<std::size_t>(n));
        close(fds[0]);
        int status = 0;
        waitpid(child, &status, 0);
        double at_early = 0, at_end = 0;
        std::size_t told = 0, journal_bytes = 0;
        std::istringstream fields(text);
        fields >> at_early >> at_end >> told >> journal_bytes;
        if (told != trials || at_early <= 0 || at_end <= 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            std::fprintf(stderr, "memory_growth: strategy %s failed\n", name.c_str());
            return 1;
        }
        const double growth = 100.0 * (at_end / at_early - 1.0);
        const double per_trial =
            (at_end - at_early) * 1024.0 * 1024.0 / static_cast<double>(told - early);
        const double journal_per_trial =
            static_cast<double>(journal_bytes) / static_cast<double>(told);
        std::printf("%-18s %7zu %10.2f %10.2f %9.2f %12.0f %14.0f\n", name.c_str(), told, at_early,
                    at_end, growth, per_trial, journal_per_trial);
        std::fflush(stdout);
        out[name] = xnas::json::value::object({{"early_mib", at_early},
                                               {"end_mib", at_end},
                                               {"growth_percent", growth},
                                               {"bytes_per_trial", per_trial},
                                               {"journal_bytes_per_trial", journal_per_trial}});
    }
    std::printf("%s\n", out.dump().c_str());
}
