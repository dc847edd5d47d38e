#pragma once
// The search journal: one JSON object per line, appended and fsync'd per record, so a study
// survives a crash and resumes by replay (xnas::search with search_options::resume). Also the
// reader, which tolerates a torn last line and names the line of any other damage.
//
// Records (field "event"):
//   {"event":"start","format":"xnas-journal","version":1,"seed":42,"objectives":[{"name":..,"direction":..}]}
//   {"event":"ask","id":3,"architecture":"<space.to_string(a)>","fidelity":1.0,"parents":[1]}
//   {"event":"result","id":3,"status":"ok","message":"","objectives":{..},"metrics":{..},"cost":0.5,
//    "elapsed":12.5}
// "elapsed" (search seconds when the result was recorded, counting the runs before a resume) is
// optional: journals written before it resume as if no time had passed.
// Non-finite numbers are written as null and read back as NaN.

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>
#include <xnas/core/durable_file.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/json.hpp>
#include <xnas/core/trial.hpp>

namespace xnas {

/// One parsed journal line with its 1-based line number (for error messages).
struct journal_record {
    std::size_t line = 0;
    json::value data;
};

/// What read_journal found.
struct journal_contents {
    std::vector<journal_record> records{};
    std::vector<std::string> warnings{}; ///< e.g. a torn last line that was ignored
    std::uintmax_t valid_bytes = 0;      ///< length of the intact prefix (a torn tail is after it)
    bool missing_newline = false;        ///< the intact prefix does not end in '\n'
};

/// Reads a journal. A last line without its newline that does not parse is a torn write (crash
/// mid-append): it is ignored and reported in `warnings`. Any other line that is not a JSON
/// object with a string "event" throws xnas::parse_error naming the file and line. Blank lines
/// are skipped. Throws xnas::file_error when the file cannot be read.
inline journal_contents read_journal(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw file_error("xnas::read_journal: cannot open '" + path + "': " + std::strerror(errno));
    std::ostringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();

    journal_contents out;
    std::size_t pos = 0;
    std::size_t line = 0;
    while (pos < text.size()) {
        ++line;
        const std::size_t nl = text.find('\n', pos);
        const bool complete = nl != std::string::npos;
        const std::size_t end = complete ? nl : text.size();
        const std::string_view body(text.data() + pos, end - pos);
        const std::size_t start = pos;
        pos = complete ? nl + 1 : text.size();
        if (body.find_first_not_of(" \t\r") == std::string_view::npos) {
            out.valid_bytes = pos;
            continue;
        }
        json::value j;
        bool good = true;
        try {
            j = json::value::parse(body);
        } catch (const json::syntax_error&) {
            good = false;
        }
        good = good && j.is_object() && j.contains("event") && j.at("event").is_string();
        if (!good) {
            if (!complete) {
                out.warnings.push_back("xnas::read_journal: " + path + ":" + std::to_string(line) +
                                       ": torn last line (" + std::to_string(body.size()) +
                                       " bytes, no newline) ignored; a crash mid-write left it");
                out.valid_bytes = start;
                return out;
            }
            const std::string shown(body.substr(0, 60));
            throw parse_error("xnas::read_journal: " + path + ":" + std::to_string(line) +
                              ": corrupt record, expected a JSON object with a string \"event\", "
                              "got '" +
                              shown + (body.size() > 60 ? "...'" : "'"));
        }
        out.records.push_back({line, std::move(j)});
        out.valid_bytes = pos;
        out.missing_newline = !complete;
    }
    return out;
}

/// Appends records to a journal file, one JSON line each, with write(2) and fsync(2) per record
/// so that a record reported written survives a crash. Move-only.
class journal_writer {
  public:
    /// Opens `path` for appending (creating it). With `truncate_to`, first cuts the file to that
    /// many bytes (dropping a torn tail); with `add_newline`, terminates an unterminated last
    /// record. `sync` = false skips fsync (tests on slow disks; not crash-safe).
    explicit journal_writer(const std::string& path, bool sync = true,
                            std::uintmax_t truncate_to = std::numeric_limits<std::uintmax_t>::max(),
                            bool add_newline = false)
        : path_(path)
        , sync_(sync) {
        if (truncate_to != std::numeric_limits<std::uintmax_t>::max())
            if (::truncate(path.c_str(), static_cast<off_t>(truncate_to)) != 0)
                throw file_error("xnas::journal_writer: cannot truncate '" + path + "' to " +
                                 std::to_string(truncate_to) + " bytes: " + std::strerror(errno));
        const bool existed = ::access(path.c_str(), F_OK) == 0;
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd_ < 0)
            throw file_error("xnas::journal_writer: cannot open '" + path +
                             "' for appending: " + std::strerror(errno));
        // A new file's directory entry must be durable too, or a crash can lose the whole file.
        if (!existed && sync_)
            sync_directory(std::filesystem::path(path).parent_path());
        if (add_newline)
            write_all("\n");
    }
    journal_writer(const journal_writer&) = delete;
    journal_writer& operator=(const journal_writer&) = delete;
    journal_writer(journal_writer&& o) noexcept
        : path_(std::move(o.path_))
        , fd_(std::exchange(o.fd_, -1))
        , sync_(o.sync_) {}
    journal_writer& operator=(journal_writer&& o) noexcept {
        if (this != &o) {
            close();
            path_ = std::move(o.path_);
            fd_ = std::exchange(o.fd_, -1);
            sync_ = o.sync_;
        }
        return *this;
    }
    ~journal_writer() { close(); }

    /// Writes `record` as one line and makes it durable. Throws xnas::file_error on I/O failure.
    void append(const json::value& record) {
        // One write of the whole line: a crash leaves at most one torn line, at the end.
        // (dump() replaces invalid UTF-8, say in an exception message: never a throw mid-search.)
        // A write that fails part-way (a full disk) is cut off again, so the journal ends on a
        // whole record and a resume, once there is space, reads every record before it.
        const off_t before = ::lseek(fd_, 0, SEEK_END);
        try {
            write_all(record.dump() + "\n");
        } catch (const file_error&) {
            if (before >= 0 && ::ftruncate(fd_, before) == 0 && sync_)
                ::fsync(fd_);
            throw;
        }
        if (sync_ && ::fsync(fd_) != 0)
            throw file_error("xnas::journal_writer: fsync of '" + path_ +
                             "' failed: " + std::strerror(errno));
    }

    const std::string& path() const { return path_; }

  private:
    void write_all(const std::string& s) {
        const char* p = s.data();
        std::size_t left = s.size();
        while (left > 0) {
            const ssize_t n = ::write(fd_, p, left);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                throw file_error("xnas::journal_writer: write to '" + path_ +
                                 "' failed: " + std::strerror(errno));
            }
            p += n;
            left -= static_cast<std::size_t>(n);
        }
    }
    void close() noexcept {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }

    std::string path_;
    int fd_ = -1;
    bool sync_ = true;
};

/// The "start" record of a run: the settings a resume must match.
inline json::value journal_start_record(std::uint64_t seed, const std::vector<objective>& objs) {
    json::value o = json::value::array();
    for (const auto& ob : objs)
        o.push_back(json::value::object({{"name", ob.name}, {"direction", to_string(ob.dir)}}));
    return json::value::object({{"event", "start"},
                                {"format", "xnas-journal"},
                                {"version", 1},
                                {"seed", seed},
                                {"objectives", o}});
}

/// The "ask" record of trial `t`, whose architecture prints as `architecture`; `progress`, the
/// budget share the strategy was given before the ask, for strategies that take one.
template <class A>
json::value journal_ask_record(const trial<A>& t, const std::string& architecture,
                               std::optional<double> progress = std::nullopt) {
    json::value r = json::value::object({{"event", "ask"},
                                         {"id", t.id},
                                         {"architecture", architecture},
                                         {"fidelity", t.fidelity},
                                         {"parents", t.parents}});
    if (progress)
        r["progress"] = *progress;
    return r;
}

/// The "result" record of trial `id`, recorded `elapsed` seconds into the search.
inline json::value journal_result_record(std::uint64_t id, const evaluation& e, double elapsed) {
    return json::value::object({{"event", "result"},
                                {"id", id},
                                {"status", to_string(e.state)},
                                {"message", e.message},
                                {"objectives", e.objectives},
                                {"metrics", e.metrics},
                                {"cost", e.cost},
                                {"elapsed", elapsed}});
}

/// The evaluation stored in a "result" record. Throws json::type_error or
/// std::invalid_argument on a malformed record (callers add the file and line).
inline evaluation journal_evaluation(const json::value& r) {
    evaluation e;
    e.state = parse_status(r.at("status").get<std::string>());
    e.message = r.get_or("message", std::string{});
    e.objectives = r.at("objectives").get<named_values>();
    e.metrics = r.get_or("metrics", named_values{});
    e.cost = r.at("cost").get<double>();
    return e;
}

} // namespace xnas
