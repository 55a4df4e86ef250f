using System.Text;

namespace Fs.Core.Metrics;

/// <summary>A gauge family: values that go up and down (bytes cached, sessions, locks).</summary>
public sealed class GaugeFamily : MetricFamily<Gauge>
{
    internal GaugeFamily(string name, string help, IReadOnlyList<string> labelNames)
        : base(name, help, "gauge", labelNames)
    {
        CreateUnlabeledSeries();
    }

    private protected override Gauge CreateSeries() => new();

    private protected override void WriteSamples(StringBuilder text)
    {
        foreach (var (labels, gauge) in OrderedSeries)
            AppendSample(text, "", labels, null, null, FormatValue(gauge.Value));
    }
}

/// <summary>One gauge series.</summary>
public sealed class Gauge
{
    private double _value;

    public double Value => Volatile.Read(ref _value);

    public void Set(double value) => Volatile.Write(ref _value, value);

    public void Add(double amount)
    {
        var current = Volatile.Read(ref _value);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _value, current + amount, current);
            if (seen.Equals(current))
                return;
            current = seen;
        }
    }
}
