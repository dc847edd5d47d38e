#pragma once
// A self-contained HTML report of a search (inline SVG, no scripts, no external files): best
// objective so far over trials and over time, objective against model size with the Pareto
// front, and the decision importance bars. Library code: it writes a file and prints nothing.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/report/importance.hpp>

namespace xnas::report {

/// One evaluated trial as the report sees it.
struct trial_point {
    std::size_t index = 0; ///< completion order, from 1
    double seconds = 0.0;  ///< wall-clock seconds since the search started, at completion
    double value = std::numeric_limits<double>::quiet_NaN(); ///< primary objective
    double size = std::numeric_limits<double>::quiet_NaN();  ///< e.g. parameter count (minimised)
    bool ok = true;
    std::string label; ///< architecture string, shown as a tooltip
    /// Below the highest fidelity of the data (a multi-fidelity rung): drawn hollow and left
    /// out of the best-so-far staircase and the Pareto front, as study::best and pareto_front
    /// leave it out.
    double fidelity = 1.0;
};

struct report_data {
    std::string title = "xnas search report";
    std::string value_name = "validation accuracy";
    bool minimize = false; ///< lower values are better (an error such as RMSE)
    std::string size_name = "parameters";
    std::vector<std::pair<std::string, std::string>> summary; ///< key/value lines at the top
    std::vector<trial_point> trials;
    std::vector<decision_importance> importance;
};

namespace detail {

inline std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '&':
            out += "&amp;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

inline std::string fmt(double v, int digits = 4) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

/// A whole number in full (a parameter count of 1234567, not 1.23457e+06), anything else as
/// fmt(v, 6).
inline std::string count_or_number(double v) {
    if (std::isfinite(v) && v == std::round(v) && std::abs(v) < 1e15) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f", v);
        return buf;
    }
    return fmt(v, 6);
}

/// Axis range padded by 5 %, never empty.
inline std::pair<double, double> padded_range(double lo, double hi) {
    if (!std::isfinite(lo) || !std::isfinite(hi))
        return {0.0, 1.0};
    if (hi <= lo) {
        const double d = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
        return {lo - d, hi + d};
    }
    const double pad = (hi - lo) * 0.05;
    return {lo - pad, hi + pad};
}

/// Round tick values inside [lo, hi]: on a linear axis the multiples of the 1-2-5 step that gives
/// at most six; on a log axis the powers of ten, with their 2x and 5x when fewer than three fit.
/// Never empty: a range too narrow for any gets its two ends.
inline std::vector<double> nice_ticks(double lo, double hi, bool log_axis) {
    std::vector<double> out;
    const double eps = (hi - lo) * 1e-9;
    if (log_axis && lo > 0) {
        for (const std::vector<double>& mantissas :
             {std::vector<double>{1}, std::vector<double>{1, 2, 5}}) {
            out.clear();
            for (double p = std::floor(std::log10(lo)); p <= std::ceil(std::log10(hi)); ++p)
                for (double m : mantissas)
                    if (const double v = m * std::pow(10.0, p); v >= lo - eps && v <= hi + eps)
                        out.push_back(v);
            if (out.size() >= 3)
                break;
        }
        // A range narrower than 1-2-5 steps (24k to 38k parameters) would show only its ends;
        // over so short a span the log axis is nearly linear, so linear round ticks read right.
        if (out.size() >= 2)
            return out;
        out.clear();
    }
    if (hi > lo) {
        const double raw = (hi - lo) / 5;
        const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
        double step = 10 * magnitude;
        for (double m : {1.0, 2.0, 5.0})
            if (m * magnitude >= raw) {
                step = m * magnitude;
                break;
            }
        for (double k = std::ceil(lo / step); k * step <= hi + eps; ++k)
            out.push_back(k * step);
    }
    if (out.empty())
        out = {lo, hi};
    return out;
}

/// A chart frame: maps data to pixels and draws axes with round ticks (nice_ticks).
struct frame {
    double x0, x1, y0, y1;
    bool log_x = false;
    static constexpr double w = 560, h = 320, left = 70, right = 40, top = 30, bottom = 50;

    double tx(double x) const {
        const double a = log_x ? std::log10(x0) : x0, b = log_x ? std::log10(x1) : x1;
        const double v = log_x ? std::log10(x) : x;
        return left + (v - a) / (b - a) * (w - left - right);
    }
    double ty(double y) const { return h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom); }

    std::string axes(const std::string& title, const std::string& xlabel,
                     const std::string& ylabel) const {
        std::ostringstream s;
        s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h
          << "' font-family='sans-serif' font-size='11'>"
          << "<text x='" << w / 2
          << "' y='16' text-anchor='middle' font-size='13' font-weight='bold'>" << escape(title)
          << "</text>"
          << "<rect x='" << left << "' y='" << top << "' width='" << w - left - right
          << "' height='" << h - top - bottom << "' fill='none' stroke='#999'/>";
        for (double xv : nice_ticks(x0, x1, log_x))
            s << "<text x='" << tx(xv) << "' y='" << h - bottom + 15 << "' text-anchor='middle'>"
              << count_or_number(xv) << "</text>";
        for (double yv : nice_ticks(y0, y1, false))
            s << "<text x='" << left - 5 << "' y='" << ty(yv) + 4 << "' text-anchor='end'>"
              << fmt(yv, 6) << "</text>"
              << "<line x1='" << left << "' x2='" << w - right << "' y1='" << ty(yv) << "' y2='"
              << ty(yv) << "' stroke='#eee'/>";
        s << "<text x='" << (left + w - right) / 2 << "' y='" << h - 10 << "' text-anchor='middle'>"
          << escape(xlabel) << "</text>"
          << "<text transform='translate(14," << (top + h - bottom) / 2
          << ") rotate(-90)' text-anchor='middle'>" << escape(ylabel) << "</text>";
        return s.str();
    }
};

inline double top_fidelity(const std::vector<const trial_point*>& points) {
    double top = 0;
    for (auto* t : points)
        top = std::max(top, t->fidelity);
    return top;
}

// A trial's dot: filled at the top fidelity, hollow below it, where its tooltip names its
// fidelity.
inline std::string dot(double x, double y, const trial_point& t, double top, std::string title) {
    const bool at_top = t.fidelity >= top;
    if (!at_top)
        title += " at fidelity " + fmt(t.fidelity, 3);
    return "<circle cx='" + fmt(x, 6) + "' cy='" + fmt(y, 6) + "' r='2.5' " +
           (at_top ? "fill='#9ab'" : "fill='none' stroke='#9ab'") + "><title>" + escape(title) +
           "</title></circle>";
}

/// Best-so-far staircase of `value` against x (trial index or seconds), with every trial as a dot.
inline std::string best_so_far_chart(const std::vector<trial_point>& trials, bool by_time,
                                     const std::string& value_name, bool minimize = false) {
    const double sign = minimize ? -1.0 : 1.0; // comparisons on sign * value: larger is better
    std::vector<const trial_point*> ok;
    for (const auto& t : trials)
        if (t.ok && std::isfinite(t.value))
            ok.push_back(&t);
    const double top = top_fidelity(ok);
    auto xof = [&](const trial_point& t) {
        return by_time ? t.seconds : static_cast<double>(t.index);
    };
    double xmax = 1, ylo = std::numeric_limits<double>::infinity(), yhi = -ylo;
    for (const auto& t : trials)
        xmax = std::max(xmax, xof(t));
    for (auto* t : ok) {
        ylo = std::min(ylo, t->value);
        yhi = std::max(yhi, t->value);
    }
    auto [y0, y1] = padded_range(ylo, yhi);
    frame f{0, xmax * 1.02, y0, y1};
    std::ostringstream s;
    s << f.axes(std::string("best ") + value_name + (by_time ? " over time" : " over trials"),
                by_time ? "seconds" : "trial", value_name);
    for (auto* t : ok)
        s << dot(f.tx(xof(*t)), f.ty(t->value), *t, top, t->label + " : " + fmt(t->value));
    std::string path;
    double best = -std::numeric_limits<double>::infinity();
    for (auto* t : ok) {
        if (sign * t->value <= best || t->fidelity < top)
            continue;
        const double x = f.tx(xof(*t));
        if (path.empty())
            path = "M" + fmt(x, 6) + "," + fmt(f.ty(t->value), 6);
        else
            path += " H" + fmt(x, 6) + " V" + fmt(f.ty(t->value), 6);
        best = sign * t->value;
    }
    if (!path.empty())
        s << "<path d='" << path << " H" << f.tx(xmax)
          << "' fill='none' stroke='#c33' stroke-width='2'/>";
    s << "</svg>";
    return s.str();
}

/// Value against size (log scale) with the Pareto front (best value, min size) highlighted.
inline std::string pareto_chart(const std::vector<trial_point>& trials,
                                const std::string& value_name, const std::string& size_name,
                                bool minimize = false) {
    const double sign = minimize ? -1.0 : 1.0;
    std::vector<const trial_point*> ok;
    for (const auto& t : trials)
        if (t.ok && std::isfinite(t.value) && std::isfinite(t.size) && t.size > 0)
            ok.push_back(&t);
    double xlo = std::numeric_limits<double>::infinity(), xhi = 0, ylo = xlo, yhi = -xlo;
    for (auto* t : ok) {
        xlo = std::min(xlo, t->size);
        xhi = std::max(xhi, t->size);
        ylo = std::min(ylo, t->value);
        yhi = std::max(yhi, t->value);
    }
    if (ok.empty())
        xlo = 1, xhi = 10;
    if (xhi <= xlo)
        xhi = xlo * 10;
    auto [y0, y1] = padded_range(ylo, yhi);
    frame f{xlo / 1.2, xhi * 1.2, y0, y1, true};
    std::ostringstream s;
    s << f.axes(value_name + " against " + size_name, size_name + " (log scale)", value_name);
    const double top = top_fidelity(ok);
    std::vector<const trial_point*> sorted;
    for (auto* t : ok)
        if (t->fidelity >= top)
            sorted.push_back(t);
    std::sort(sorted.begin(), sorted.end(), [sign](auto* a, auto* b) {
        return a->size != b->size ? a->size < b->size : sign * a->value > sign * b->value;
    });
    std::vector<const trial_point*> front;
    double best = -std::numeric_limits<double>::infinity();
    for (auto* t : sorted)
        if (sign * t->value > best) {
            front.push_back(t);
            best = sign * t->value;
        }
    for (auto* t : ok)
        s << dot(f.tx(t->size), f.ty(t->value), *t, top,
                 t->label + " : " + fmt(t->value) + ", " + count_or_number(t->size));
    if (!front.empty()) {
        std::string path;
        for (auto* t : front)
            path += (path.empty() ? "M" : " H") + fmt(f.tx(t->size), 6) +
                    (path.empty() ? "," : " V") + fmt(f.ty(t->value), 6);
        s << "<path d='" << path << "' fill='none' stroke='#c33' stroke-width='1.5'/>";
        for (auto* t : front)
            s << "<circle cx='" << f.tx(t->size) << "' cy='" << f.ty(t->value)
              << "' r='4' fill='#c33'><title>" << escape(t->label) << " : " << fmt(t->value) << ", "
              << count_or_number(t->size) << "</title></circle>";
    }
    s << "</svg>";
    return s.str();
}

inline std::string importance_chart(const std::vector<decision_importance>& imp,
                                    const std::string& value_name) {
    const double row = 22, left = 180, width = 560, barw = 300;
    const double height = 40 + row * static_cast<double>(std::max<std::size_t>(imp.size(), 1));
    std::ostringstream s;
    s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
      << "' font-family='sans-serif' font-size='11'>"
      << "<text x='" << width / 2
      << "' y='16' text-anchor='middle' font-size='13' font-weight='bold'>"
      << "share of " << escape(value_name)
      << " variance each decision explains (chance-adjusted)</text>";
    double y = 30;
    for (const auto& d : imp) {
        std::string best = d.mean_by_value.empty() ? "" : d.mean_by_value.front().first;
        s << "<text x='" << left - 6 << "' y='" << y + 14 << "' text-anchor='end'>"
          << escape(d.decision) << "</text>"
          << "<rect x='" << left << "' y='" << y + 3 << "' width='"
          << std::max(1.0, barw * d.adjusted_share) << "' height='" << row - 6 << "' fill='#48a'/>"
          << "<text x='" << left + barw * d.adjusted_share + 6 << "' y='" << y + 14 << "'>"
          << fmt(100 * d.adjusted_share, 3) << " % (raw " << fmt(100 * d.share, 2)
          << " %; best: " << escape(best) << ")</text>";
        y += row;
    }
    if (imp.empty())
        s << "<text x='" << left << "' y='" << y + 14 << "'>not enough successful trials</text>";
    s << "</svg>";
    return s.str();
}

} // namespace detail

/// The report as one HTML string.
inline std::string render_html(const report_data& data) {
    std::ostringstream s;
    s << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>" << detail::escape(data.title)
      << "</title><style>body{font-family:sans-serif;margin:24px;max-width:1200px}"
         "td{padding:2px 12px 2px 0}svg{margin:8px 16px 8px "
         "0;vertical-align:top}</style></head><body>"
      << "<h1>" << detail::escape(data.title) << "</h1><table>";
    for (const auto& [k, v] : data.summary)
        s << "<tr><td><b>" << detail::escape(k) << "</b></td><td><code>" << detail::escape(v)
          << "</code></td></tr>";
    std::size_t failed = 0;
    for (const auto& t : data.trials)
        failed += t.ok ? 0 : 1;
    s << "<tr><td><b>trials</b></td><td>" << data.trials.size() << " (" << failed
      << " failed)</td></tr></table><div>"
      << detail::best_so_far_chart(data.trials, false, data.value_name, data.minimize)
      << detail::best_so_far_chart(data.trials, true, data.value_name, data.minimize)
      << detail::pareto_chart(data.trials, data.value_name, data.size_name, data.minimize)
      << detail::importance_chart(data.importance, data.value_name) << "</div></body></html>\n";
    return s.str();
}

/// Writes the report; throws xnas::file_error naming the path when it cannot.
inline void write_html(const report_data& data, const std::string& path) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out)
        throw file_error("xnas::report::write_html: cannot open " + path + " for writing");
    out << render_html(data);
    out.flush();
    if (!out)
        throw file_error("xnas::report::write_html: write to " + path + " failed");
}

} // namespace xnas::report
