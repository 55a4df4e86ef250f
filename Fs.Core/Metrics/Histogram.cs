using System.Diagnostics;
using System.Text;

namespace Fs.Core.Metrics;

/// <summary>A histogram family: observations counted into fixed buckets, with their sum and count.</summary>
public sealed class HistogramFamily : MetricFamily<Histogram>
{
    /// <summary>Latency buckets in seconds, from 100 µs (a cached metadata call) to 10 s (a stalled object store).</summary>
    public static readonly IReadOnlyList<double> LatencySeconds =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly double[] _bounds;
    private readonly string[] _boundLabels;

    internal HistogramFamily(string name, string help, IReadOnlyList<double> upperBounds, IReadOnlyList<string> labelNames)
        : base(name, help, "histogram", labelNames)
    {
        if (upperBounds.Count == 0)
            throw new ArgumentException($"histogram {name} needs at least one bucket", nameof(upperBounds));
        for (var i = 0; i < upperBounds.Count; i++)
        {
            if (!double.IsFinite(upperBounds[i]) || (i > 0 && upperBounds[i] <= upperBounds[i - 1]))
                throw new ArgumentException($"histogram {name}: bucket bounds must be finite and increasing", nameof(upperBounds));
        }
        _bounds = [.. upperBounds];
        _boundLabels = [.. _bounds.Select(FormatValue)];
        CreateUnlabeledSeries();
    }

    private protected override Histogram CreateSeries() => new(_bounds);

    private protected override void WriteSamples(StringBuilder text)
    {
        foreach (var (labels, histogram) in OrderedSeries)
        {
            // Count is the sum of the bucket counts read here, so the +Inf bucket and _count always agree.
            var counts = histogram.SnapshotCounts();
            long cumulative = 0;
            for (var i = 0; i < _bounds.Length; i++)
            {
                cumulative += counts[i];
                AppendSample(text, "_bucket", labels, "le", _boundLabels[i], FormatValue(cumulative));
            }
            cumulative += counts[^1];
            AppendSample(text, "_bucket", labels, "le", "+Inf", FormatValue(cumulative));
            AppendSample(text, "_sum", labels, null, null, FormatValue(histogram.Sum));
            AppendSample(text, "_count", labels, null, null, FormatValue(cumulative));
        }
    }
}

/// <summary>One histogram series; an observation is one interlocked increment and one compare-exchange on the sum.</summary>
public sealed class Histogram
{
    private readonly double[] _bounds;
    private readonly long[] _counts;
    private double _sum;

    internal Histogram(double[] bounds)
    {
        _bounds = bounds;
        _counts = new long[bounds.Length + 1];
    }

    public double Sum => Volatile.Read(ref _sum);

    public long Count => SnapshotCounts().Sum();

    public void Observe(double value)
    {
        var i = 0;
        while (i < _bounds.Length && value > _bounds[i])
            i++;
        Interlocked.Increment(ref _counts[i]);
        var current = Volatile.Read(ref _sum);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _sum, current + value, current);
            if (seen.Equals(current))
                return;
            current = seen;
        }
    }

    /// <summary>Observes the seconds elapsed since <paramref name="startTimestamp"/> (from <see cref="Stopwatch.GetTimestamp"/>).</summary>
    public void ObserveSince(long startTimestamp) => Observe(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);

    internal long[] SnapshotCounts()
    {
        var copy = new long[_counts.Length];
        for (var i = 0; i < _counts.Length; i++)
            copy[i] = Interlocked.Read(ref _counts[i]);
        return copy;
    }
}
