using System.Globalization;
using System.Text;

namespace Fs.Core.Tests.Metrics;

/// <summary>One sample line: the full sample name (with _bucket/_sum/_count for histograms), its labels and value.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A metric family as exposed: its type, help and samples.</summary>
public sealed record PrometheusFamily(string Name, string Type, string Help, IReadOnlyList<PrometheusSample> Samples);

/// <summary>
/// A strict parser of the Prometheus text exposition format 0.0.4, written for the tests: it rejects anything a
/// scraper could misread (samples before their TYPE, families split apart, bad escapes, duplicate series, histograms
/// whose buckets, sum and count disagree), where real scrapers are lenient.
/// </summary>
public static class PrometheusText
{
    private static readonly HashSet<string> Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    public static IReadOnlyDictionary<string, PrometheusFamily> Parse(string text)
    {
        if (text.Length > 0 && !text.EndsWith('\n'))
            throw new FormatException("the exposition must end with a line feed");
        var families = new Dictionary<string, (string Type, string? Help, List<PrometheusSample> Samples)>(StringComparer.Ordinal);
        var finished = new HashSet<string>(StringComparer.Ordinal);
        string? current = null;
        var lineNumber = 0;
        foreach (var line in text.Split('\n')[..^1])
        {
            lineNumber++;
            try
            {
                if (line.Length == 0)
                    continue;
                if (line.StartsWith('#'))
                {
                    var parts = line.Split(' ', 4);
                    if (parts.Length < 3 || parts[0] != "#" || parts[1] is not ("HELP" or "TYPE"))
                        continue; // a plain comment
                    var name = parts[2];
                    RequireMetricName(name);
                    Switch(name);
                    var family = families.GetValueOrDefault(name, ("untyped", null, []));
                    if (parts[1] == "TYPE")
                    {
                        if (families.ContainsKey(name) && family.Samples.Count > 0)
                            throw new FormatException($"TYPE of {name} after its samples");
                        if (families.TryGetValue(name, out var seen) && seen.Type != "untyped")
                            throw new FormatException($"second TYPE line for {name}");
                        var type = parts.Length == 4 ? parts[3] : "";
                        if (!Types.Contains(type))
                            throw new FormatException($"unknown type '{type}'");
                        families[name] = (type, family.Help, family.Samples);
                    }
                    else
                    {
                        if (family.Help is not null)
                            throw new FormatException($"second HELP line for {name}");
                        families[name] = (family.Type, Unescape(parts.Length == 4 ? parts[3] : ""), family.Samples);
                    }
                    continue;
                }
                var sample = ParseSample(line);
                var owner = FamilyOf(sample.Name, families);
                Switch(owner);
                if (!families.ContainsKey(owner))
                    families[owner] = ("untyped", null, []);
                families[owner].Samples.Add(sample);
            }
            catch (FormatException e)
            {
                throw new FormatException($"line {lineNumber}: {e.Message}: {line}", e);
            }
        }

        var result = new Dictionary<string, PrometheusFamily>(StringComparer.Ordinal);
        foreach (var (name, (type, help, samples)) in families)
        {
            var family = new PrometheusFamily(name, type, help ?? "", samples);
            Validate(family);
            result[name] = family;
        }
        return result;

        // Every line of one family must be together: once another family starts, the earlier one is finished.
        void Switch(string name)
        {
            if (name == current)
                return;
            if (finished.Contains(name))
                throw new FormatException($"lines of {name} are not together");
            if (current is not null)
                finished.Add(current);
            current = name;
        }
    }

    /// <summary>The value of the one sample with exactly these labels, or null when there is none.</summary>
    public static double? Value(this IReadOnlyDictionary<string, PrometheusFamily> families, string sampleName, params (string Name, string Value)[] labels)
    {
        foreach (var family in families.Values)
        {
            foreach (var sample in family.Samples)
            {
                if (sample.Name == sampleName && sample.Labels.Count == labels.Length
                    && labels.All(l => sample.Labels.TryGetValue(l.Name, out var v) && v == l.Value))
                    return sample.Value;
            }
        }
        return null;
    }

    private static string FamilyOf(string sampleName, Dictionary<string, (string Type, string? Help, List<PrometheusSample> Samples)> families)
    {
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal))
            {
                var stem = sampleName[..^suffix.Length];
                if (families.TryGetValue(stem, out var f) && f.Type is "histogram" or "summary")
                    return stem;
            }
        }
        return sampleName;
    }

    private static PrometheusSample ParseSample(string line)
    {
        var i = 0;
        while (i < line.Length && line[i] is not ('{' or ' '))
            i++;
        var name = line[..i];
        RequireMetricName(name);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                if (i < line.Length && line[i] == '}')
                {
                    i++;
                    break;
                }
                var start = i;
                while (i < line.Length && line[i] != '=')
                    i++;
                var labelName = line[start..i];
                if (labelName.Length == 0 || char.IsAsciiDigit(labelName[0]) || !labelName.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                    throw new FormatException($"bad label name '{labelName}'");
                if (i + 1 >= line.Length || line[i + 1] != '"')
                    throw new FormatException($"label {labelName} has no quoted value");
                i += 2;
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= line.Length)
                        throw new FormatException($"label {labelName} value is not closed");
                    var c = line[i++];
                    if (c == '"')
                        break;
                    if (c == '\\')
                    {
                        if (i >= line.Length)
                            throw new FormatException("backslash at end of line");
                        value.Append(line[i++] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            var other => throw new FormatException($"invalid escape \\{other} in a label value"),
                        });
                    }
                    else
                    {
                        value.Append(c);
                    }
                }
                if (!labels.TryAdd(labelName, value.ToString()))
                    throw new FormatException($"label {labelName} given twice");
                if (i < line.Length && line[i] == ',')
                    i++;
                else if (i >= line.Length || line[i] != '}')
                    throw new FormatException("expected , or } after a label");
            }
        }
        if (i >= line.Length || line[i] != ' ')
            throw new FormatException("expected a space before the value");
        var fields = line[(i + 1)..].Split(' ');
        if (fields.Length is < 1 or > 2)
            throw new FormatException("expected a value and an optional timestamp");
        if (fields.Length == 2 && !long.TryParse(fields[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            throw new FormatException($"bad timestamp '{fields[1]}'");
        return new PrometheusSample(name, labels, ParseValue(fields[0]));
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) => v,
        _ => throw new FormatException($"bad value '{text}'"),
    };

    private static void Validate(PrometheusFamily family)
    {
        var series = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sample in family.Samples)
        {
            var key = sample.Name + "{" + string.Join(",", sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) + "}";
            if (!series.Add(key))
                throw new FormatException($"{family.Name}: series {key} appears twice");
            if (family.Type == "counter" && !(sample.Value >= 0))
                throw new FormatException($"{family.Name}: counter {key} is {sample.Value}");
            if (family.Type is "counter" or "gauge" && sample.Name != family.Name)
                throw new FormatException($"{family.Name}: sample {sample.Name} does not belong to a {family.Type}");
        }
        if (family.Type == "histogram")
            ValidateHistogram(family);
    }

    private static void ValidateHistogram(PrometheusFamily family)
    {
        static string Key(PrometheusSample s) =>
            string.Join(",", s.Labels.Where(l => l.Key != "le").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

        foreach (var group in family.Samples.GroupBy(Key))
        {
            var buckets = new List<(double Le, double Count)>();
            double? sum = null, count = null;
            foreach (var s in group)
            {
                if (s.Name == family.Name + "_bucket")
                {
                    if (!s.Labels.TryGetValue("le", out var le))
                        throw new FormatException($"{family.Name}: bucket without le");
                    buckets.Add((ParseValue(le), s.Value));
                }
                else if (s.Name == family.Name + "_sum")
                {
                    sum = s.Value;
                }
                else if (s.Name == family.Name + "_count")
                {
                    count = s.Value;
                }
                else
                {
                    throw new FormatException($"{family.Name}: sample {s.Name} does not belong to a histogram");
                }
                if (s.Name != family.Name + "_bucket" && s.Labels.ContainsKey("le"))
                    throw new FormatException($"{family.Name}: le on {s.Name}");
            }
            if (sum is null || count is null)
                throw new FormatException($"{family.Name}{{{group.Key}}}: _sum or _count missing");
            if (buckets.Count == 0 || !double.IsPositiveInfinity(buckets[^1].Le))
                throw new FormatException($"{family.Name}{{{group.Key}}}: the last bucket is not +Inf");
            for (var i = 1; i < buckets.Count; i++)
            {
                if (!(buckets[i].Le > buckets[i - 1].Le))
                    throw new FormatException($"{family.Name}{{{group.Key}}}: bucket bounds do not increase");
                if (buckets[i].Count < buckets[i - 1].Count)
                    throw new FormatException($"{family.Name}{{{group.Key}}}: bucket counts are not cumulative");
            }
            if (buckets[^1].Count != count)
                throw new FormatException($"{family.Name}{{{group.Key}}}: +Inf bucket {buckets[^1].Count} differs from _count {count}");
            if (count == 0 && sum != 0)
                throw new FormatException($"{family.Name}{{{group.Key}}}: no observations but a sum of {sum}");
        }
    }

    private static void RequireMetricName(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':'))
            throw new FormatException($"bad metric name '{name}'");
    }

    /// <summary>HELP text escapes only backslash and line feed.</summary>
    private static string Unescape(string help)
    {
        var text = new StringBuilder(help.Length);
        for (var i = 0; i < help.Length; i++)
        {
            if (help[i] != '\\')
            {
                text.Append(help[i]);
                continue;
            }
            if (++i >= help.Length)
                throw new FormatException("backslash at end of HELP");
            text.Append(help[i] switch
            {
                '\\' => '\\',
                'n' => '\n',
                var other => throw new FormatException($"invalid escape \\{other} in HELP"),
            });
        }
        return text.ToString();
    }
}
