// xnas-search: neural architecture search on Fashion-MNIST (or any IDX image set) from the
// command line. Searches a space with a strategy, writes everything it learned to --out, then
// retrains the best architecture on the whole training set and evaluates the test set once.
//
//   xnas-search --space chain --strategy tpe --trials 20 --epochs 1 --out out/run1
//
// Run with --help for every option.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <xnas/core/json.hpp>
#include <xnas/data/mnist.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/data/split.hpp>
#include <xnas/evaluate/cell_builder.hpp>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/evaluate/prescreen.hpp>
#include <xnas/evaluate/train_evaluator.hpp>
#include <xnas/evaluate/training_params.hpp>
#include <xnas/evaluate/zero_cost.hpp>
#include <xnas/nn/serialize.hpp>
#include <xnas/report/decisions.hpp>
#include <xnas/report/html_report.hpp>
#include <xnas/report/importance.hpp>
#include <xnas/run/export.hpp>
#include <xnas/run/final_selection.hpp>
#include <xnas/run/journal.hpp>
#include <xnas/run/search.hpp>
#include <xnas/strategy.hpp>
#ifdef XNAS_WITH_MPI
#include <xnas/parallel/mpi.hpp>
#endif

namespace fs = std::filesystem;
using namespace xnas;

namespace {

struct config {
    std::string data = "/usr/share/datasets/fashion-mnist";
    std::string space = "chain";
    // TPE: its regret on the generated NB201-like problems is far below regularized evolution's
    // (docs/results.md#regret-on-generated-problems).
    std::string strategy = "tpe";
    double cost_exponent = 0;
    bool cost_cooling = false;
    std::size_t trials = 0;
    double minutes = 0;
    std::size_t epochs = 2;
    std::size_t final_epochs = 0;
    std::size_t final_limit = 0;
    bool final_constant_lr = false;
    bool final_augment = false;
    double final_erase = 0;
    double final_weight_decay = 0;
    std::size_t final_plain_epochs = 0;
    double final_label_smoothing = 0;
    bool trial_augment = false;
    bool trial_cosine = false;
    // What a multi-fidelity strategy's low rungs cut. Epochs are whole numbers, so with the
    // default 2 epochs hyperband's 1/9 and 1/3 rungs would both train 1 epoch, half the full
    // cost; the first share of the training split scales the cost down with the fidelity.
    std::string fidelity = "data";
    std::size_t train_subset = 5000;
    std::size_t select = 0;
    std::size_t select_epochs = 0;
    std::size_t select_subset = 0;
    double validation_fraction = 0.1;
    std::size_t workers = 0;
    int threads = 1;
    std::uint64_t seed = 0;
    std::size_t max_params = 0;
    double max_mflops =
        25; // keeps the default run to minutes: a 4x64-channel 5x5 chain is ~1 GFLOP
    double trial_seconds = 0;
    std::string out = "xnas-out";
    bool resume = false;
    std::string warm_start;
    std::string command_toml; ///< the options given, as --config reads them back
    std::size_t warm_start_count = 5;
    std::size_t prescreen = 0;
    std::size_t prescreen_keep = 5;
};

const objective accuracy_objective{"val_accuracy", direction::maximize};
const objective params_objective{"params", direction::minimize};

/// A strategy chosen at run time: one instantiation of the search loop per space, whatever the
/// strategy (keeps this tool's compile time down).
template <class Space>
struct any_strategy {
    using A = typename Space::architecture;
    std::function<trial<A>(const Space&, rng&)> ask_fn;
    std::function<void(const trial<A>&, const evaluation&)> tell_fn;
    std::function<void(double)> progress_fn{}; ///< empty for strategies without set_progress
    /// Learns from a trial it did not ask (a warm start); empty for strategies that cannot.
    std::function<void(const Space&, const trial<A>&, const evaluation&)> observe_fn{};
    trial<A> ask(const Space& s, rng& g) { return ask_fn(s, g); }
    void tell(const trial<A>& t, const evaluation& e) { tell_fn(t, e); }
    void set_progress(double p) {
        if (progress_fn)
            progress_fn(p);
    }

    template <class St>
    static any_strategy of(St st) {
        auto shared = std::make_shared<St>(std::move(st));
        any_strategy out{[shared](const Space& s, rng& g) { return shared->ask(s, g); },
                         [shared](const trial<A>& t, const evaluation& e) { shared->tell(t, e); }};
        if constexpr (detail::takes_progress<St>)
            out.progress_fn = [shared](double p) { shared->set_progress(p); };
        if constexpr (observing_strategy<St, Space>)
            out.observe_fn = [shared](const Space& s, const trial<A>& t, const evaluation& e) {
                shared->observe(s, t, e);
            };
        return out;
    }
};

/// Seeds a search with known architectures: asks them first, then hands over to `inner`, which
/// observes their results when it can (tpe models them, evolution starts with them in its
/// population; observing_strategy) and is told them otherwise. Ids are shifted so the seeds and
/// the inner strategy's trials never collide.
template <class Space>
any_strategy<Space> warm_started(any_strategy<Space> inner,
                                 std::vector<typename Space::architecture> seeds) {
    using A = typename Space::architecture;
    struct state {
        any_strategy<Space> inner;
        std::vector<A> seeds;
        std::size_t next = 0;
        const Space* space = nullptr; ///< the asking search's, for observe (a seed is asked first)
    };
    auto s = std::make_shared<state>(state{std::move(inner), std::move(seeds)});
    const std::uint64_t k = s->seeds.size();
    return {[s, k](const Space& space, rng& g) {
                s->space = &space;
                if (s->next < s->seeds.size()) {
                    trial<A> t;
                    t.id = s->next;
                    t.architecture = s->seeds[s->next++];
                    return t;
                }
                trial<A> t = s->inner.ask(space, g);
                t.id += k;
                // A parent may be a seed, known to the inner strategy by its id from the top of
                // the range (below).
                for (auto& p : t.parents)
                    p = p > ~std::uint64_t(0) - k ? ~std::uint64_t(0) - p : p + k;
                return t;
            },
            [s, k](const trial<A>& t, const evaluation& e) {
                trial<A> inner_trial = t;
                // Seeds get ids from the top of the range, which no strategy reaches.
                inner_trial.id = t.id < k ? ~std::uint64_t(0) - t.id : t.id - k;
                for (auto& p : inner_trial.parents)
                    p = p < k ? ~std::uint64_t(0) - p : p - k;
                if (t.id < k && s->inner.observe_fn)
                    s->inner.observe_fn(*s->space, inner_trial, e);
                else
                    s->inner.tell(inner_trial, e);
            },
            [s](double p) { s->inner.set_progress(p); }};
}

template <class Space>
any_strategy<Space> make_strategy(const std::string& name, std::size_t budget, double cost_exponent,
                                  bool cost_cooling) {
    using S = any_strategy<Space>;
    const std::size_t population = std::clamp<std::size_t>(budget / 4, 4, 50);
    if (name == "random")
        return S::of(random_search<Space>());
    if (name == "evolution")
        return S::of(
            regularized_evolution<Space>({.population_size = population,
                                          .sample_size = std::max<std::size_t>(2, population / 3),
                                          .objective = accuracy_objective}));
    if (name == "local") {
        if constexpr (neighbourhood_space<Space>)
            return S::of(local_search<Space>({.objective = accuracy_objective}));
    }
    if (name == "reinforce") {
        if constexpr (decision_space<Space>)
            return S::of(reinforce<Space>({.objective = accuracy_objective}));
    }
    if (name == "tpe" || name == "tpe-multivariate") {
        if constexpr (decision_space<Space>)
            // FLOPs, not seconds: they predict a trial's time as well (log-log correlation
            // 0.97-0.99 over five races' trials) and do not depend on the machine, so the same
            // seed still gives the same search.
            return S::of(tpe<Space>({.objective = accuracy_objective,
                                     .multivariate = name == "tpe-multivariate",
                                     .cost_exponent = name == "tpe" ? cost_exponent : 0,
                                     .cost = "flops",
                                     .cost_cooling = cost_cooling}));
    }
    if (name == "bananas") {
        if constexpr (encodable_space<Space>)
            return S::of(
                bananas<Space>({.initial_samples = std::min<std::size_t>(10, budget / 3 + 1),
                                .objective = accuracy_objective}));
    }
    if (name == "nsga2")
        return S::of(nsga2<Space>(
            {.population_size = population, .objectives = {accuracy_objective, params_objective}}));
    if (name == "hyperband")
        return S::of(hyperband<Space>({.min_fidelity = 1.0 / 9, .objective = accuracy_objective}));
    if (name == "asha")
        return S::of(asha<Space>({.min_fidelity = 1.0 / 9, .objective = accuracy_objective}));
    if (name == "bohb") {
        if constexpr (decision_space<Space>) {
            // Field by field: g++ 12 warns (falsely) that a designated initializer leaves the
            // nested model options' strings uninitialised.
            bohb_options o;
            o.min_fidelity = 1.0 / 9;
            o.objective = accuracy_objective;
            o.model.cost_exponent = cost_exponent;
            o.model.cost = "flops";
            o.model.cost_cooling = cost_cooling;
            return S::of(bohb<Space>(std::move(o)));
        }
    }
    throw std::invalid_argument(
        "--strategy " + name +
        " is unknown or not available for this space (random, evolution, "
        "local, reinforce, tpe, tpe-multivariate, bananas, nsga2, hyperband, "
        "asha, bohb)");
}

/// The layer space restricted to networks within --max-params and --max-mflops, so that no
/// strategy proposes, and no trial is spent on, a network over budget (with a 100k-parameter
/// budget about three in four unconstrained draws of the image space are over it). The
/// evaluator still checks both budgets.
chain_space within_budget(const chain_space& s, const chain_builder_options& bo, const config& c) {
    const std::size_t max_params = c.max_params;
    const auto max_flops = static_cast<std::size_t>(c.max_mflops * 1e6);
    if (!max_params && !max_flops)
        return s;
    auto builder = std::make_shared<const chain_builder>(s, bo);
    chain_space constrained =
        s.with_constraint([builder, max_params, max_flops](const chain_space::architecture& a) {
            rng unused(0); // building only allocates; nothing random is drawn
            const nn::network<float> net = builder->build(a, unused);
            return (!max_params || net.parameter_count() <= max_params) &&
                   (!max_flops || net.flops() <= max_flops);
        });
    // A budget nothing fits would otherwise surface mid-search as the sampler's "no
    // architecture satisfying the constraint", which does not say which option to loosen.
    try {
        rng probe(c.seed);
        (void)constrained.sample(probe);
    } catch (const std::runtime_error&) {
        std::ostringstream m;
        m << "no architecture of the " << c.space << " space fits --max-params " << max_params
          << " and --max-mflops " << c.max_mflops
          << " (0: no limit) in 1000 random draws; raise them";
        throw std::invalid_argument(m.str());
    }
    return constrained;
}

template <class A>
std::size_t failed_trials(const study<A>& s) {
    return static_cast<std::size_t>(
        std::count_if(s.history.begin(), s.history.end(), [](const auto& r) { return !r.e.ok(); }));
}

/// Progress on stderr: a bar redrawn in place on a terminal, one line per trial otherwise.
struct progress {
    std::size_t total = 0;
    double budget_seconds = 0;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    bool tty = isatty(STDERR_FILENO) != 0;
    std::map<std::uint64_t, double> finished_at{}; ///< trial id -> seconds into the search

    // Trials, failures and seconds come from the study, so a resumed search counts on from its
    // journal.
    template <class A>
    void on_result(const scored<A>& r, const study<A>& s) {
        const double now =
            s.resumed_seconds +
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        finished_at[r.t.id] = now;
        const std::size_t done = s.history.size(), failed = failed_trials(s);
        // The study's own best (at the highest fidelity evaluated): O(trials) per result.
        const auto best_index = s.best_index(accuracy_objective);
        // Until a trial succeeds there is no best: 0.0000 would read as a trained network at 0.
        char best[32] = "-";
        if (best_index)
            std::snprintf(best, sizeof best, "%.4f",
                          s.history[*best_index].e.value("val_accuracy"));
        double eta = 0;
        if (total)
            eta = now / static_cast<double>(done) *
                  static_cast<double>(total - std::min(done, total));
        else if (budget_seconds > 0)
            eta = std::max(0.0, budget_seconds - now);
        char line[256];
        std::snprintf(line, sizeof line,
                      "trial %zu%s%s  elapsed %.0fs  eta %.0fs  best val_acc %s  failed %zu", done,
                      total ? "/" : "", total ? std::to_string(total).c_str() : "", now, eta, best,
                      failed);
        if (tty) {
            const std::size_t width = 24,
                              filled = total ? width * std::min(done, total) / total : 0;
            std::fprintf(stderr, "\r[%s%s] %s", std::string(filled, '#').c_str(),
                         std::string(width - filled, '.').c_str(), line);
        } else {
            std::fprintf(stderr, "%s  %s%s%s\n", line, to_string(r.e.state), r.e.ok() ? "" : ": ",
                         r.e.message.substr(0, 120).c_str());
        }
        std::fflush(stderr);
    }
    template <class A>
    void on_end(const study<A>&) {
        if (tty)
            std::fprintf(stderr, "\n");
    }
    void on_warning(const std::string& w) { std::fprintf(stderr, "\nwarning: %s\n", w.c_str()); }
};

/// The final selection's notion of one candidate: trials that differ only in training
/// hyperparameters (the image space's second factor) train the same network, and the best of
/// them stands for it. A TPE search's top ranks are often one network at several learning rates;
/// the selection compares networks instead.
struct same_network {
    template <class A>
    bool operator()(const A& a, const A& b) const {
        if constexpr (requires { a.first == b.first; })
            return a.first == b.first;
        else
            return a == b;
    }
};

/// Ends the search early enough for the final selection to fit in --minutes: after each result
/// the selection is estimated from the current top k's own trial times, scaled by the extra
/// epochs and images, and the search stops once elapsed time plus that estimate reach the budget.
struct selection_reserve {
    double budget_seconds = 0; ///< 0: no wall-clock budget, nothing to reserve
    std::size_t k = 0;
    double scale = 1; ///< selection cost of a candidate over its full-fidelity trial's
    std::size_t workers = 1;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    double reserved = 0; ///< the last estimate, for the log

    template <class A>
    bool on_result(const scored<A>&, const study<A>& s) {
        if (budget_seconds <= 0 || k == 0)
            return false;
        const auto top = best_distinct(s, accuracy_objective, k, same_network{});
        if (top.empty())
            return false;
        double mean = 0; // a low-fidelity trial's cost scaled up to full fidelity
        for (std::size_t i : top)
            mean += s.history[i].e.cost / std::max(s.history[i].t.fidelity, 1e-3);
        mean /= static_cast<double>(top.size());
        const double rounds = std::ceil(static_cast<double>(k) / static_cast<double>(workers));
        reserved = mean * scale * rounds;
        const double now =
            s.resumed_seconds +
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return now + reserved >= budget_seconds;
    }
};

void write_text(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out)
        throw file_error("xnas-search: cannot write " + p.string());
}

/// The best architectures of an earlier journal by val_accuracy (ok results only).
template <class Space>
std::vector<typename Space::architecture>
best_from_journal(const Space& space, const std::string& space_name, const std::string& path,
                  std::size_t k) {
    const auto j = read_journal(path);
    struct asked {
        std::string text;
        std::size_t line; ///< of the ask record, for the error of an architecture that won't parse
    };
    std::map<std::uint64_t, asked> arch;
    std::vector<std::pair<double, asked>> scored_archs;
    for (const auto& r : j.records) {
        const auto& d = r.data;
        const auto event = d.at("event").get<std::string>();
        if (event == "ask") {
            arch[d.at("id").get<std::uint64_t>()] = {d.at("architecture").get<std::string>(),
                                                     r.line};
        } else if (event == "result" && d.get_or("status", std::string()) == "ok") {
            const json::value* objectives = d.find("objectives");
            const json::value* acc = objectives ? objectives->find("val_accuracy") : nullptr;
            if (acc && !acc->is_null())
                scored_archs.emplace_back(acc->get<double>(),
                                          arch.at(d.at("id").get<std::uint64_t>()));
        }
    }
    std::stable_sort(scored_archs.begin(), scored_archs.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<typename Space::architecture> out;
    for (const auto& entry : scored_archs) {
        // Not a structured binding: clang 14 cannot capture one in the lambda below.
        const asked& asked_arch = entry.second;
        auto a = [&] {
            try {
                return space.parse(asked_arch.text);
            } catch (const std::invalid_argument& e) {
                // The journal does not record its space, and a bare parse message does not say
                // that the journal, not the --space, is the thing to change.
                throw parse_error("--warm-start " + path + ":" + std::to_string(asked_arch.line) +
                                  ": the journal's architectures are not of the --space " +
                                  space_name + " space; warm-start from a journal of a " +
                                  space_name + " search (" + e.what() + ")");
            }
        }();
        if (std::find(out.begin(), out.end(), a) == out.end())
            out.push_back(std::move(a));
        if (out.size() == k)
            break;
    }
    if (out.empty())
        throw std::invalid_argument("--warm-start " + path +
                                    ": no successful trial with val_accuracy");
    return out;
}

/// Cuts `ds` to its first k samples (k = 0 or k >= size: all of them, uncopied).
void keep_first(data::dataset<float>& ds, std::size_t k) {
    if (k && k < ds.size())
        ds = ds.first(k);
}

struct prepared_data {
    std::shared_ptr<data::dataset<float>> train, validation, full_train, test;
    /// The final selection's training images: the first --select-subset of the training split.
    std::shared_ptr<data::dataset<float>> select_train;
    data::split_indices split;
    data::normalization stats; ///< one global (mean, stddev) of the search's training images
};

/// Whether `dir` holds all four Fashion-MNIST files, raw or gzipped.
bool data_files_present(const fs::path& dir) {
    std::error_code ec;
    for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
        if (!fs::exists(dir / name, ec) && !fs::exists(dir / (std::string(name) + ".gz"), ec))
            return false;
    return true;
}

/// Fashion-MNIST from --data. The library names a damaged file and its fault, but only a
/// missing file's error says how to get the data; here the files are the Debian package's, so a
/// damaged one's error says how to restore it too.
data::train_test<float> load_data(const config& c) {
    try {
        return data::load_fashion_mnist<float>(c.data);
    } catch (const file_error& e) {
        if (!data_files_present(c.data))
            throw; // a missing file: the message already says what to install
        const std::string package = "apt-get install --reinstall dataset-fashion-mnist";
        std::error_code ec;
        const bool packaged = fs::equivalent(c.data, config{}.data, ec);
        throw file_error(
            std::string(e.what()) +
            (packaged ? "; to restore the file, reinstall the package: " + package
                      : "; to replace it with an intact copy, install the Debian package (" +
                            package + ") and pass --data " + config{}.data));
    }
}

prepared_data prepare(const config& c, bool sequences) {
    auto tt = load_data(c);
    rng g(c.seed ^ 0x5EED5EEDULL);
    prepared_data p;
    p.split = data::stratified_split(tt.train.labels, c.validation_fraction, g);
    auto train = tt.train.subset(p.split.train);
    auto validation = tt.train.subset(p.split.validation);
    data::dataset<float> select_train;
    if (c.select) {
        select_train = train;
        keep_first(select_train, c.select_subset);
    }
    keep_first(train, c.train_subset);
    // Statistics from the search's training data only: nothing of validation or test leaks in.
    p.stats = data::compute_normalization(train, data::norm_scope::global);
    std::vector<data::dataset<float>*> all{&train, &validation, &tt.train, &tt.test};
    if (c.select)
        all.push_back(&select_train);
    for (auto* ds : all) {
        data::normalize(*ds, p.stats);
        if (sequences) // 28 rows of 28 features: sequential Fashion-MNIST
            ds->x.reshape({ds->size(), 28, 28});
    }
    if (c.select)
        p.select_train = std::make_shared<data::dataset<float>>(std::move(select_train));
    p.train = std::make_shared<data::dataset<float>>(std::move(train));
    p.validation = std::make_shared<data::dataset<float>>(std::move(validation));
    p.full_train = std::make_shared<data::dataset<float>>(std::move(tt.train));
    p.test = std::make_shared<data::dataset<float>>(std::move(tt.test));
    return p;
}

/// Crops (2 pixels) and flips when `crop_flip`, random erasing with probability `erase`, for
/// images normalised by `stats`: a black pixel (the background a crop should shift in) is
/// -mean / stddev, and the raw range [0, 1] bounds the values erasing draws.
data::augment_options augmentation(bool crop_flip, double erase, const data::normalization& stats) {
    const double black = -stats.mean[0] / stats.stddev[0];
    const double white = (1 - stats.mean[0]) / stats.stddev[0];
    return {.crop_padding = crop_flip ? 2u : 0u,
            .flip_probability = crop_flip ? 0.5 : 0.0,
            .fill = black,
            .erase_probability = erase,
            .erase_low = black,
            .erase_high = white};
}

bool multi_fidelity(const std::string& strategy) {
    return strategy == "hyperband" || strategy == "asha" || strategy == "bohb";
}

/// The options that decide what a trial is: a resumed run must use the journaled run's, or its
/// study would mix trials trained two ways without a trace.
json::value trial_options(const config& c) {
    auto options = json::value::object({{"space", c.space},
                                        {"strategy", c.strategy},
                                        {"seed", c.seed},
                                        {"epochs", c.epochs},
                                        {"train-subset", c.train_subset},
                                        {"validation-fraction", c.validation_fraction},
                                        {"trial-augment", c.trial_augment},
                                        {"trial-cosine", c.trial_cosine},
                                        {"max-params", c.max_params},
                                        {"max-mflops", c.max_mflops},
                                        {"trial-seconds", c.trial_seconds},
                                        {"warm-start", c.warm_start},
                                        {"warm-start-count", c.warm_start_count}});
    if (multi_fidelity(c.strategy)) // only these strategies ask for a fidelity below 1
        options["fidelity"] = c.fidelity;
    if (c.cost_exponent != 0) // journals of runs before the option have no such key
        options["cost-exponent"] = c.cost_exponent;
    if (c.cost_cooling)
        options["cost-cooling"] = true;
    if (c.prescreen) { // as the cost exponent: runs before the option have no such key
        options["prescreen"] = c.prescreen;
        options["prescreen-keep"] = c.prescreen_keep;
    }
    return options;
}

/// Before anything is written to --out: refuses to overwrite a journaled run, and on --resume
/// checks the trial options against the ones options.json recorded when the run started.
void check_out_dir(const config& c) {
    const fs::path journal = fs::path(c.out) / "journal.jsonl";
    const fs::path recorded = fs::path(c.out) / "options.json";
    std::error_code ec;
    const bool journaled = fs::exists(journal, ec) && fs::file_size(journal, ec) > 0;
    if (journaled && !c.resume)
        throw file_error(journal.string() +
                         " exists; pass --resume to continue that run, or choose another --out");
    const json::value mine = trial_options(c);
    if (c.resume && fs::exists(recorded, ec)) {
        std::ifstream in(recorded, std::ios::binary);
        const std::string text((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
        json::value theirs;
        try {
            theirs = json::value::parse(text);
        } catch (const std::exception& e) {
            throw parse_error(recorded.string() + ": " + e.what());
        }
        for (const auto& key : mine.keys()) {
            const json::value* was = theirs.find(key);
            if (!was || was->dump() != mine.at(key).dump())
                throw std::invalid_argument("--resume: --" + key + " is " + mine.at(key).dump() +
                                            " but the run in " + c.out + " used " +
                                            (was ? was->dump() : std::string("nothing")) + " (" +
                                            recorded.string() + "); resume with the run's options");
        }
        for (const auto& key : theirs.keys())
            if (!mine.find(key))
                throw std::invalid_argument("--resume: the run in " + c.out + " used --" + key +
                                            " " + theirs.at(key).dump() + " (" + recorded.string() +
                                            "); resume with the run's options");
    }
}

/// Records the run's options in --out: called once the data and any --warm-start journal have
/// loaded, so a run that fails on them leaves nothing behind (--resume reads these files before
/// the run starts, so writing them later changes nothing for it).
void record_options(const config& c) {
    const fs::path recorded = fs::path(c.out) / "options.json";
    std::error_code ec;
    if (!c.resume || !fs::exists(recorded, ec)) {
        fs::create_directories(c.out);
        write_text(recorded, trial_options(c).dump(2) + "\n");
    }
    // A resume rewrites it: the budgets it was given again are the run's now.
    write_text(fs::path(c.out) / "command.toml", c.command_toml);
}

/// This process's MPI rank and the number of ranks: (0, 1) unless this is xnas-search-mpi started
/// by mpiexec.
std::pair<int, int> mpi_rank_and_size() {
#ifdef XNAS_WITH_MPI
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return {rank, size};
#else
    return {0, 1};
#endif
}

template <class Space, class Builder>
int run(const config& c, const Space& space, const Builder& builder, bool sequences) {
    using A = typename Space::architecture;
    const auto t0 = std::chrono::steady_clock::now();
    // Under mpiexec rank 0 searches and writes --out; every other rank only trains the candidates
    // it is sent, so it loads the data and builds the evaluator and nothing else.
    const auto [rank, ranks] = mpi_rank_and_size();
    if (rank == 0)
        check_out_dir(c);
    const std::size_t workers = ranks > 1   ? static_cast<std::size_t>(ranks - 1)
                                : c.workers ? c.workers
                                            : std::max(1u, std::thread::hardware_concurrency());
    const std::size_t threads = static_cast<std::size_t>(std::max(c.threads, 1));
    // Oversubscribed cores slow every trial (and so skew --trial-seconds and the latencies
    // measured) without an error to show why; a warning, as a shared machine may want it. Where
    // MPI ranks run is mpiexec's to say.
    if (const unsigned cores = std::thread::hardware_concurrency();
        ranks == 1 && cores && workers * threads > cores)
        std::fprintf(stderr,
                     "xnas-search: warning: --workers %zu x --threads %zu = %zu exceeds the %u "
                     "cores and oversubscribes them: candidates compete for cores and train "
                     "slower (keep workers x threads <= %u)\n",
                     workers, threads, workers * threads, cores, cores);
    std::vector<A> seeds;
    if (!c.warm_start.empty() && rank == 0)
        seeds = best_from_journal(space, c.space, c.warm_start, c.warm_start_count);
    prepared_data d = prepare(c, sequences);
    if (rank == 0) {
        record_options(c);
        const auto split =
            json::value::object({{"train", d.split.train}, {"val", d.split.validation}});
        write_text(fs::path(c.out) / "split.json", split.dump());
    }

    nn::set_blas_threads(c.threads);
    if (c.prescreen && rank == 0) {
        // Zero-cost pre-screening (Mellor et al. 2021): NASWOT of the untrained network on 64
        // training images costs milliseconds where a trial costs seconds; the best few are
        // trained first, and strategies that observe learn from them as from a warm start.
        const auto start = std::chrono::steady_clock::now();
        zero_cost_evaluator<A, Builder> proxy(builder, d.train, {.seed = c.seed});
        rng pg(c.seed ^ 0x9E3779B97F4A7C15ULL);
        const auto picks = prescreen(space, proxy, c.prescreen, c.prescreen_keep, pg);
        for (const auto& p : picks)
            if (std::find(seeds.begin(), seeds.end(), p.t.architecture) == seeds.end())
                seeds.push_back(p.t.architecture);
        std::fprintf(
            stderr,
            "prescreen: NASWOT of %zu random architectures in %.1f s; the %zu best "
            "are trained first\n",
            c.prescreen,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
            picks.size());
    }
    train_evaluator<A, Builder> evaluator(
        builder, d.train, d.validation,
        {.epochs = c.epochs,
         .fidelity = c.fidelity == "epochs" ? fidelity_axis::epochs : fidelity_axis::data,
         .max_params = c.max_params,
         .max_flops = static_cast<std::size_t>(c.max_mflops * 1e6),
         .time_limit_seconds = c.trial_seconds,
         .seed = c.seed,
         .augment = c.trial_augment && !sequences ? std::optional(augmentation(true, 0, d.stats))
                                                  : std::nullopt,
         .cosine = c.trial_cosine});

    auto strategy =
        make_strategy<Space>(c.strategy, c.trials ? c.trials : 50, c.cost_exponent, c.cost_cooling);
    if (!seeds.empty())
        strategy = warm_started(std::move(strategy), std::move(seeds));

    search_options opt{.objectives = {accuracy_objective, params_objective},
                       .max_trials = c.trials,
                       .max_seconds = c.minutes * 60,
                       .seed = c.seed,
                       .workers = workers,
                       .journal = (fs::path(c.out) / "journal.jsonl").string(),
                       .resume = c.resume};
    progress bar{.total = c.trials, .budget_seconds = c.minutes * 60};
    const std::size_t select_epochs = c.select_epochs ? c.select_epochs : c.epochs;
    const double select_scale =
        c.select
            ? static_cast<double>(select_epochs) / static_cast<double>(c.epochs) *
                  static_cast<double>(d.select_train->size()) / static_cast<double>(d.train->size())
            : 1.0;
    selection_reserve reserve{
        .budget_seconds = c.minutes * 60, .k = c.select, .scale = select_scale, .workers = workers};
    const auto search_start = std::chrono::steady_clock::now();
    study<A> s;
#ifdef XNAS_WITH_MPI
    if (ranks > 1) {
        auto searched = mpi::search(space, strategy, evaluator, opt, bar, reserve);
        if (!searched)
            return 0; // a worker rank: its part is done, rank 0 reports
        s = std::move(*searched);
    } else
#endif
        s = search(space, strategy, evaluator, opt, bar, reserve);
    // A resumed search counts the seconds its journal spent, as --minutes does.
    const double search_seconds =
        s.resumed_seconds +
        std::chrono::duration<double>(std::chrono::steady_clock::now() - search_start).count();

    save_csv((fs::path(c.out) / "trials.csv").string(), s, space);
    std::ostringstream pareto;
    pareto << "id,architecture,val_accuracy,params,flops,latency_ms\n";
    for (std::size_t i : s.pareto_front()) {
        const auto& r = s.history[i];
        pareto << r.t.id << ',' << detail::csv_field(space.to_string(r.t.architecture)) << ','
               << detail::csv_number(r.e.value("val_accuracy")) << ','
               << detail::csv_number(r.e.value("params")) << ','
               << detail::csv_number(r.e.value("flops")) << ','
               << detail::csv_number(r.e.value("latency_ms")) << '\n';
    }
    write_text(fs::path(c.out) / "pareto.csv", pareto.str());

    if (!s.best_index(accuracy_objective)) {
        std::fprintf(stderr, "xnas-search: no trial succeeded (%zu failed); see %s\n",
                     s.history.size(), (fs::path(c.out) / "trials.csv").c_str());
        return 1;
    }

    // The final selection: the search's best few, trained longer on more images, have the last
    // word. A search's ranking is a cheap proxy (docs/design.md, "Final selection").
    std::vector<reevaluated<A>> selection;
    const auto selection_start = std::chrono::steady_clock::now();
    if (c.select) {
        std::fprintf(stderr,
                     "final selection: re-evaluating the %zu best networks for %zu epochs on "
                     "%zu images%s...\n",
                     c.select, select_epochs, d.select_train->size(),
                     c.minutes > 0
                         ? (" (estimated " + std::to_string(std::lround(reserve.reserved)) +
                            " s, reserved from --minutes)")
                               .c_str()
                         : "");
        train_evaluator<A, Builder> select_evaluator(
            builder, d.select_train, d.validation,
            {.epochs = select_epochs,
             .max_params = c.max_params,
             .max_flops = static_cast<std::size_t>(c.max_mflops * 1e6),
             .seed = c.seed,
             .augment = evaluator.options().augment,
             .cosine = !c.final_constant_lr});
        selection = reevaluate_best(s, select_evaluator, accuracy_objective, c.select, workers,
                                    same_network{});
        for (const auto& r : selection)
            std::fprintf(stderr, "  trial %llu  val_acc %.4f -> %.4f  %s%s%s\n",
                         static_cast<unsigned long long>(r.result.t.id),
                         s.history[r.history_index].e.value("val_accuracy"),
                         r.result.e.value("val_accuracy"),
                         space.to_string(r.result.t.architecture).c_str(),
                         r.result.e.ok() ? "" : "  failed: ", r.result.e.message.c_str());
        if (selection.empty() || !selection.front().result.e.ok()) {
            std::fprintf(stderr,
                         "warning: every re-evaluation failed; keeping the search's best\n");
            selection.clear();
        }
    }
    const double selection_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - selection_start).count();
    const scored<A>& best =
        selection.empty() ? s.best() : s.history[selection.front().history_index];
    const double selection_val = selection.empty()
                                     ? std::numeric_limits<double>::quiet_NaN()
                                     : selection.front().result.e.value("val_accuracy");
    const std::string best_text = space.to_string(best.t.architecture);

    // Retrain the winner on the whole training set (search train + validation) at full fidelity.
    rng g(c.seed + 1);
    nn::network<float> net = builder.build(best.t.architecture, g);
    for (std::size_t id = 1; id < net.size(); ++id)
        nn::init::apply(net.layer(id), nn::init::scheme::pytorch_default, g);
    training_recipe recipe = evaluator.recipe(best.t.architecture);
    // Regularisers of the long retrain only: short trials do not overfit, so the search cannot
    // tell their worth. Adam's L2 is divided by its adaptive scale and barely regularises
    // (Loshchilov & Hutter 2019), so Adam retrains as AdamW, with the decay decoupled.
    if (c.final_weight_decay > 0) {
        recipe.weight_decay = c.final_weight_decay;
        if (recipe.optimizer == "adam")
            recipe.optimizer = "adamw";
    }
    if (c.final_label_smoothing > 0)
        recipe.label_smoothing = c.final_label_smoothing;
    const std::size_t final_epochs =
        c.final_epochs ? c.final_epochs : std::max<std::size_t>(c.epochs, 2);
    keep_first(*d.full_train, c.final_limit);
    // The search kept workers x threads cores busy; the one retrain uses them all, data-parallel.
    // Cosine annealing to zero over the retrain is the usual final-training recipe (DARTS,
    // NAS-Bench-201): it settles into a minimum a constant rate keeps bouncing around.
    train::fit_options final_options{
        .epochs = final_epochs, .seed = g(), .threads = workers * threads};
    if (!c.final_constant_lr)
        final_options.schedule = nn::cosine_schedule{.base_lr = recipe.lr, .period = final_epochs};
    if ((c.final_augment || c.final_erase > 0) && !sequences)
        final_options.augment = augmentation(c.final_augment, c.final_erase, d.stats);
    final_options.plain_last_epochs = c.final_plain_epochs;
    std::fprintf(stderr,
                 "retraining the best architecture on %zu images for %zu epochs on %zu "
                 "threads (%s, %s learning rate%s%s%s, weight decay %g, label smoothing "
                 "%g)...\n",
                 d.full_train->size(), final_epochs, final_options.threads,
                 recipe.optimizer.c_str(), c.final_constant_lr ? "constant" : "cosine-annealed",
                 c.final_augment && final_options.augment ? ", crop and flip" : "",
                 c.final_erase > 0 && final_options.augment ? ", random erasing" : "",
                 final_options.augment && c.final_plain_epochs
                     ? (", the last " + std::to_string(c.final_plain_epochs) + " plain").c_str()
                     : "",
                 recipe.weight_decay, recipe.label_smoothing);
    // One line per epoch: the retrain can take longer than the search's last trials, and a
    // silent stretch of minutes reads as a hang.
    struct retrain_progress {
        std::size_t epochs;
        double elapsed = 0;
        void on_epoch_end(const train::epoch_result& e) {
            elapsed += e.seconds;
            std::fprintf(stderr, "retrain epoch %zu/%zu  loss %.4f  train acc %.4f  %.0f s\n",
                         e.epoch + 1, epochs, e.loss, e.accuracy, elapsed);
        }
    };
    const train::history tr =
        train_network(net, *d.full_train, recipe, final_options, retrain_progress{final_epochs});
    const double test_acc =
        train::evaluate(net, nn::softmax_cross_entropy<float>(), *d.test).accuracy;
    nn::save(net, (fs::path(c.out) / "best_model.xnas").string());

    auto best_record = json::value::object(
        {{"architecture", best_text},
         {"trial", best.t.id},
         {"seed", c.seed},
         {"space", c.space},
         {"strategy", c.strategy},
         {"val_accuracy", best.e.value("val_accuracy")},
         {"params", best.e.value("params")},
         {"flops", best.e.value("flops")},
         {"latency_ms", best.e.value("latency_ms")},
         {"retrain_epochs", tr.epochs.size()},
         {"retrain_plain_epochs",
          final_options.augment ? std::min(c.final_plain_epochs, final_epochs) : final_epochs},
         {"retrain_optimizer", recipe.optimizer},
         {"retrain_weight_decay", recipe.weight_decay},
         {"retrain_label_smoothing", recipe.label_smoothing},
         {"model", "best_model.xnas"},
         {"test_accuracy", test_acc}});
    if (!selection.empty()) {
        auto entries = json::value::array();
        for (const auto& r : selection) {
            const double v = r.result.e.value("val_accuracy");
            entries.push_back(json::value::object(
                {{"trial", r.result.t.id},
                 {"architecture", space.to_string(r.result.t.architecture)},
                 {"val_accuracy", s.history[r.history_index].e.value("val_accuracy")},
                 {"selection_val_accuracy", std::isnan(v) ? json::value() : json::value(v)},
                 {"status", to_string(r.result.e.state)},
                 {"message", r.result.e.message}}));
        }
        best_record["selection"] = std::move(entries);
        best_record["selection_epochs"] = select_epochs;
        best_record["selection_images"] = d.select_train->size();
        best_record["selection_val_accuracy"] = selection_val;
    }
    write_text(fs::path(c.out) / "best.json", best_record.dump(2) + "\n");

    // The report: progress over trials and time, accuracy against size, decision importance.
    report::report_data rep;
    rep.title = "xnas-search: " + c.space + " space, " + c.strategy;
    rep.summary = {{"best architecture", best_text},
                   {"validation accuracy", std::to_string(best.e.value("val_accuracy"))},
                   {"test accuracy (retrained)", std::to_string(test_acc)},
                   {"validation accuracy (final selection)",
                    selection.empty() ? "no final selection" : std::to_string(selection_val)},
                   {"parameters", std::to_string(static_cast<long long>(best.e.value("params")))}};
    std::vector<report::decision_row> rows;
    double cumulative_cost = 0;
    for (std::size_t i = 0; i < s.history.size(); ++i) {
        const auto& r = s.history[i];
        cumulative_cost += r.e.cost;
        const auto at = bar.finished_at.find(r.t.id);
        rep.trials.push_back({i + 1,
                              at != bar.finished_at.end()
                                  ? at->second
                                  : cumulative_cost / static_cast<double>(workers),
                              r.e.value("val_accuracy"), r.e.value("params"), r.e.ok(),
                              space.to_string(r.t.architecture), r.t.fidelity});
        if (r.e.ok() && r.t.fidelity >= 1.0)
            rows.push_back({report::decisions(space, r.t.architecture), r.e.value("val_accuracy")});
    }
    std::string importance_text;
    // Main effects need several trials per decision value to mean anything.
    if (rows.size() >= 8) {
        rep.importance = report::main_effects(rows);
        for (const auto& imp : rep.importance)
            importance_text += "  " + imp.decision + ": " +
                               std::to_string(100 * imp.adjusted_share).substr(0, 5) + " % (best " +
                               imp.mean_by_value.front().first + ")\n";
    }
    report::write_html(rep, (fs::path(c.out) / "report.html").string());
    if (!importance_text.empty())
        std::fprintf(
            stderr,
            "decision importance (chance-adjusted share of validation-accuracy variance):\n%s",
            importance_text.c_str());

    const std::size_t failed = failed_trials(s);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto summary = json::value::object({{"best_arch", best_text},
                                        {"val_accuracy", best.e.value("val_accuracy")},
                                        {"test_accuracy", test_acc},
                                        {"params", best.e.value("params")},
                                        {"trials", s.history.size()},
                                        {"failed", failed},
                                        {"search_seconds", std::round(search_seconds * 10) / 10},
                                        {"seconds", std::round(seconds * 10) / 10},
                                        {"out", c.out}});
    if (!selection.empty()) {
        summary["selection_val_accuracy"] = selection_val;
        // The winner need not be the search's best: the race against Optuna compares this one.
        summary["search_best_val_accuracy"] = s.best().e.value("val_accuracy");
        summary["selection_seconds"] = std::round(selection_seconds * 10) / 10;
    }
    std::printf("%s\n", summary.dump().c_str());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
#ifdef XNAS_WITH_MPI
    xnas::mpi::session mpi_session(argc, argv);
#endif
    config c;
    CLI::App app{
        "xnas-search: neural architecture search on Fashion-MNIST.\n"
        "Writes options.json, command.toml, journal.jsonl, split.json, trials.csv, pareto.csv,\n"
        "best.json, best_model.xnas (the retrained network) and report.html to --out,\n"
        "retrains the best architecture on the full training set, evaluates the test set once,\n"
        "and prints a JSON summary on stdout."};
    app.add_option("--data", c.data, "directory with the IDX files (Debian: dataset-fashion-mnist)")
        ->capture_default_str();
    app.add_option("--space", c.space,
                   "chain (conv + dense macro space), cell (NAS-Bench-201 cells), "
                   "rnn (LSTM/GRU over image rows)")
        ->check(CLI::IsMember({"chain", "cell", "rnn"}))
        ->capture_default_str();
    app.add_option("--strategy", c.strategy,
                   "random, evolution, local, reinforce, tpe, tpe-multivariate (decisions "
                   "modelled jointly), bananas, nsga2, hyperband, asha, bohb (hyperband with TPE "
                   "proposals)")
        ->capture_default_str();
    app.add_option("--cost-exponent", c.cost_exponent,
                   "tpe, bohb: of about equally promising candidates prefer the "
                   "cheaper, weighing predicted log(FLOPs) by this (1: improvement per FLOP; "
                   "0: cost ignored)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_flag("--cost-cooling", c.cost_cooling,
                 "lower the cost exponent linearly to 0 as the budget is spent: cheap candidates "
                 "early, accuracy alone at the end (with --minutes the schedule follows the "
                 "clock, so runs of the same seed differ; a resume replays it exactly)");
    auto* trials =
        app.add_option("--trials", c.trials, "trials to evaluate (default 20 without --minutes)");
    auto* minutes = app.add_option(
        "--minutes", c.minutes,
        "wall-clock budget of the search (a resumed run counts the minutes its journal spent)");
    trials->excludes(minutes);
    app.add_option("--epochs", c.epochs, "training epochs per candidate (at full fidelity)")
        ->capture_default_str();
    app.add_option("--final-epochs", c.final_epochs,
                   "epochs of the final retrain (default: max(epochs, 2))");
    app.add_flag(
        "--final-constant-lr", c.final_constant_lr,
        "retrain at the searched learning rate throughout (default: cosine-annealed to 0)");
    app.add_flag("--final-augment", c.final_augment,
                 "retrain with random 2-pixel crops and horizontal flips (image spaces)");
    app.add_option("--final-erase", c.final_erase,
                   "retrain with random erasing: the chance P that an image gets a rectangle of "
                   "random pixels (image spaces; Zhong et al. 2017 use 0.5)")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--final-plain-epochs", c.final_plain_epochs,
                   "with --final-augment or --final-erase: the retrain's last K epochs train on "
                   "the images as they are (0: augment every epoch)");
    app.add_option("--final-weight-decay", c.final_weight_decay,
                   "retrain with weight decay WD: decoupled (AdamW) when the winner trains with "
                   "Adam, L2 with SGD (0: the searched recipe's)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--final-label-smoothing", c.final_label_smoothing,
                   "retrain against targets (1 - E) one-hot + E / classes (0: none; Szegedy et "
                   "al. 2016 use 0.1)")
        ->check(CLI::Range(0.0, 0.99));
    app.add_flag("--trial-augment", c.trial_augment,
                 "train candidates with random 2-pixel crops and flips too (image spaces)");
    app.add_flag("--trial-cosine", c.trial_cosine,
                 "anneal each candidate's learning rate to 0 over its epochs, as the retrain does");
    app.add_option("--final-limit", c.final_limit,
                   "retrain on the first K training images only (0: all; for smoke tests)");
    app.add_option("--fidelity", c.fidelity,
                   "what the low rungs of hyperband, asha and bohb cut: data (the first share "
                   "of the training images) or epochs (round(epochs x fidelity), at least 1)")
        ->check(CLI::IsMember({"data", "epochs"}))
        ->capture_default_str();
    app.add_option("--train-subset", c.train_subset,
                   "train candidates on the first K images of the training split (0: all)")
        ->capture_default_str();
    app.add_option("--select", c.select,
                   "final selection: re-evaluate the K best networks (trials that differ only in "
                   "training hyperparameters count as one) for --select-epochs on --select-subset "
                   "images and retrain the best of them (0: none; with --minutes the search stops "
                   "early to leave the time)")
        ->capture_default_str();
    app.add_option("--select-epochs", c.select_epochs,
                   "epochs of the final selection's training (default: --epochs)");
    app.add_option("--select-subset", c.select_subset,
                   "the final selection trains on the first K images of the training split "
                   "(0: all)")
        ->capture_default_str();
    app.add_option("--validation-fraction", c.validation_fraction,
                   "share of the training set held out for validation (stratified, seeded)")
        ->check(CLI::Range(0.01, 0.5))
        ->capture_default_str();
    app.add_option("--workers", c.workers,
                   "candidates trained at once (default: number of cores; xnas-search-mpi under "
                   "mpiexec -n N: the N - 1 worker ranks)");
    app.add_option("--threads", c.threads, "BLAS threads per candidate")->capture_default_str();
    app.add_option("--seed", c.seed, "seed of the split, the strategy and every initialisation")
        ->capture_default_str();
    app.add_option("--max-params", c.max_params,
                   "parameter budget (0: none): the chain and rnn spaces are restricted up front "
                   "to networks within it; a candidate still over it fails without training and "
                   "is recorded")
        ->capture_default_str();
    app.add_option("--max-mflops", c.max_mflops,
                   "budget of forward MFLOPs per image (0: none), applied as --max-params is")
        ->capture_default_str();
    app.add_option("--trial-seconds", c.trial_seconds, "per-candidate time limit (0: none)")
        ->capture_default_str();
    app.add_option("--out", c.out, "output directory")->capture_default_str()->configurable(false);
    app.add_flag("--resume", c.resume,
                 "continue the search journaled in --out (nothing lost or repeated) with the "
                 "options it ran with: those not given again come from --out/command.toml")
        ->configurable(false);
    auto* config_file = app.set_config(
        "--config", "",
        "read options from a TOML file of name = value lines; options on the command line win. "
        "Each run writes the options it was given to --out/command.toml: --config reruns that "
        "recipe elsewhere");
    // A misspelt key in a hand-written file (`minuts = 30`) must not silently run the defaults.
    app.allow_config_extras(CLI::config_extras_mode::error);
    app.add_option("--warm-start", c.warm_start,
                   "journal of an earlier search: its best architectures are tried first");
    app.add_option("--prescreen", c.prescreen,
                   "score this many random architectures by NASWOT, a zero-cost proxy of the "
                   "untrained network, and train the best --prescreen-keep first (0: off)")
        ->capture_default_str();
    app.add_option("--prescreen-keep", c.prescreen_keep,
                   "how many of the --prescreen draws are trained first")
        ->capture_default_str();
    app.add_option("--warm-start-count", c.warm_start_count,
                   "how many architectures --warm-start takes")
        ->capture_default_str();
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
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    c.command_toml = app.config_to_str();
    if (c.final_plain_epochs && !c.final_augment && c.final_erase <= 0) {
        std::fprintf(stderr,
                     "xnas-search: --final-plain-epochs %zu has no effect without --final-augment "
                     "or --final-erase: every epoch of the retrain is already plain\n",
                     c.final_plain_epochs);
        return 2;
    }
    if (c.cost_cooling && c.cost_exponent == 0) {
        std::fprintf(stderr, "xnas-search: --cost-cooling needs a --cost-exponent above 0\n");
        return 2;
    }
    if (c.cost_exponent != 0 && c.strategy != "tpe" && c.strategy != "bohb") {
        std::fprintf(stderr,
                     "xnas-search: --cost-exponent applies to tpe and bohb, not to --strategy %s\n",
                     c.strategy.c_str());
        return 2;
    }
    if (!c.trials && c.minutes <= 0)
        c.trials = 20; // the default budget: a few minutes on two cores

    try {
        if (c.space == "cell") {
            // The path encoding is what BANANAS's predictor learns from (White et al. 2021).
            const auto cells = cell_space::nb201().with_encoding(cell_space::encoding::path);
            return run(c, cells, cell_builder(cells), false);
        }
        if (c.space == "rnn") {
            const chain_builder_options bo{.input = {28, 28}, .classes = 10};
            chain_builder b(within_budget(chain_space::sequence(), bo, c), bo);
            return run(c, b.space(), b, true);
        }
        const auto space = image_search_space(within_budget(chain_space::image(), {}, c));
        return run(c, space, with_training_params<chain_builder>(chain_builder(space.first())),
                   false);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "xnas-search: %s\n", e.what());
#ifdef XNAS_WITH_MPI
        // The other ranks may be waiting for this one (for trials, or in MPI_Finalize): only an
        // abort ends them all.
        if (mpi_rank_and_size().second > 1)
            MPI_Abort(MPI_COMM_WORLD, 1);
#endif
        return 1;
    }
}
