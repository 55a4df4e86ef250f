using System.Text;

namespace Fs.Core.Metrics;

/// <summary>A counter family: monotonically increasing integer totals (operations, bytes, errors).</summary>
public sealed class CounterFamily : MetricFamily<Counter>
{
    internal CounterFamily(string name, string help, IReadOnlyList<string> labelNames)
        : base(name, help, "counter", labelNames)
    {
        CreateUnlabeledSeries();
    }

    private protected override Counter CreateSeries() => new();

    private protected override void WriteSamples(StringBuilder text)
    {
        foreach (var (labels, counter) in OrderedSeries)
            AppendSample(text, "", labels, null, null, FormatValue(counter.Value));
    }
}

/// <summary>One counter series; increments are single interlocked additions.</summary>
public sealed class Counter
{
    private long _value;

    public long Value => Interlocked.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);

    public void Add(long amount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        Interlocked.Add(ref _value, amount);
    }

    /// <summary>Raises the counter to a total counted elsewhere (e.g. cache statistics); never lowers it.</summary>
    public void AdvanceTo(long total)
    {
        var current = Interlocked.Read(ref _value);
        while (total > current)
        {
            var seen = Interlocked.CompareExchange(ref _value, total, current);
            if (seen == current)
                return;
            current = seen;
        }
    }
}
