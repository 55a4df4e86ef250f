using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Fs.Core.Metrics;

/// <summary>Up to three label values naming one series of a family; compared by value, so lookups allocate nothing.</summary>
public readonly record struct LabelValues(string? A, string? B, string? C)
{
    public string? this[int index] => index switch
    {
        0 => A,
        1 => B,
        2 => C,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };
}

/// <summary>A named metric with help text and label names; its series are created on first use of their label values.</summary>
public abstract class MetricFamily
{
    private const int MaxLabels = 3;

    private protected MetricFamily(string name, string help, string type, IReadOnlyList<string> labelNames)
    {
        if (!IsMetricName(name))
            throw new ArgumentException($"'{name}' is not a valid metric name", nameof(name));
        if (labelNames.Count > MaxLabels)
            throw new ArgumentException($"metric {name}: at most {MaxLabels} labels", nameof(labelNames));
        foreach (var label in labelNames)
        {
            if (!IsLabelName(label) || label == "le")
                throw new ArgumentException($"metric {name}: '{label}' is not a valid label name", nameof(labelNames));
        }
        if (labelNames.Distinct(StringComparer.Ordinal).Count() != labelNames.Count)
            throw new ArgumentException($"metric {name}: label names repeat", nameof(labelNames));
        Name = name;
        Help = help;
        Type = type;
        LabelNames = [.. labelNames];
    }

    public string Name { get; }

    public string Help { get; }

    /// <summary>counter, gauge or histogram.</summary>
    public string Type { get; }

    public IReadOnlyList<string> LabelNames { get; }

    internal void Write(StringBuilder text)
    {
        text.Append("# HELP ").Append(Name).Append(' ');
        AppendEscaped(text, Help, escapeQuote: false);
        text.Append('\n');
        text.Append("# TYPE ").Append(Name).Append(' ').Append(Type).Append('\n');
        WriteSamples(text);
    }

    private protected abstract void WriteSamples(StringBuilder text);

    private protected void CheckArity(int given)
    {
        if (given != LabelNames.Count)
            throw new ArgumentException($"metric {Name} has {LabelNames.Count} labels, {given} values given");
    }

    /// <summary>One sample line: name, the family's labels, an optional extra label (le for buckets), and the value.</summary>
    private protected void AppendSample(StringBuilder text, string suffix, LabelValues labels, string? extraName, string? extraValue, string value)
    {
        text.Append(Name).Append(suffix);
        if (LabelNames.Count > 0 || extraName is not null)
        {
            text.Append('{');
            for (var i = 0; i < LabelNames.Count; i++)
            {
                if (i > 0)
                    text.Append(',');
                text.Append(LabelNames[i]).Append("=\"");
                AppendEscaped(text, labels[i] ?? "", escapeQuote: true);
                text.Append('"');
            }
            if (extraName is not null)
            {
                if (LabelNames.Count > 0)
                    text.Append(',');
                text.Append(extraName).Append("=\"").Append(extraValue).Append('"');
            }
            text.Append('}');
        }
        text.Append(' ').Append(value).Append('\n');
    }

    /// <summary>Series in a stable order, so successive scrapes read alike.</summary>
    private protected static IEnumerable<KeyValuePair<LabelValues, T>> Ordered<T>(ConcurrentDictionary<LabelValues, T> series) =>
        series.OrderBy(s => s.Key.A, StringComparer.Ordinal).ThenBy(s => s.Key.B, StringComparer.Ordinal).ThenBy(s => s.Key.C, StringComparer.Ordinal);

    internal static string FormatValue(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    internal static string FormatValue(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Label values escape backslash, double quote and newline; help text escapes backslash and newline only.</summary>
    private static void AppendEscaped(StringBuilder text, string value, bool escapeQuote)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    text.Append(@"\\");
                    break;
                case '\n':
                    text.Append(@"\n");
                    break;
                case '"' when escapeQuote:
                    text.Append("\\\"");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }
    }

    private static bool IsMetricName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':');

    private static bool IsLabelName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && !name.StartsWith("__", StringComparison.Ordinal)
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}

/// <summary>A family whose series are of type <typeparamref name="TSeries"/>, looked up by label values without locking.</summary>
public abstract class MetricFamily<TSeries> : MetricFamily where TSeries : class
{
    private readonly ConcurrentDictionary<LabelValues, TSeries> _series = new();

    private protected MetricFamily(string name, string help, string type, IReadOnlyList<string> labelNames)
        : base(name, help, type, labelNames)
    {
    }

    /// <summary>The series of a family without labels.</summary>
    public TSeries Series
    {
        get
        {
            CheckArity(0);
            return Lookup(default);
        }
    }

    public TSeries WithLabels(string a)
    {
        CheckArity(1);
        return Lookup(new LabelValues(a, null, null));
    }

    public TSeries WithLabels(string a, string b)
    {
        CheckArity(2);
        return Lookup(new LabelValues(a, b, null));
    }

    public TSeries WithLabels(string a, string b, string c)
    {
        CheckArity(3);
        return Lookup(new LabelValues(a, b, c));
    }

    private TSeries Lookup(LabelValues labels) =>
        _series.TryGetValue(labels, out var series) ? series : _series.GetOrAdd(labels, static (_, family) => family.CreateSeries(), this);

    private protected abstract TSeries CreateSeries();

    /// <summary>
    /// Called at the end of each family's constructor: a family without labels has exactly one series, shown (at zero)
    /// from the first scrape.
    /// </summary>
    private protected void CreateUnlabeledSeries()
    {
        if (LabelNames.Count == 0)
            _series[default] = CreateSeries();
    }

    private protected IEnumerable<KeyValuePair<LabelValues, TSeries>> OrderedSeries => Ordered(_series);
}
