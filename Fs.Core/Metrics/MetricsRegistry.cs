using System.Collections.Concurrent;
using System.Text;

namespace Fs.Core.Metrics;

/// <summary>
/// The metrics of one process: counter, gauge and histogram families with labels, and collectors that refresh values
/// read from elsewhere (cache statistics, session counts) just before each scrape. Renders the Prometheus text
/// exposition format 0.0.4.
/// </summary>
public sealed class MetricsRegistry
{
    /// <summary>The Content-Type of <see cref="RenderAsync"/>'s output.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly Lock _lock = new();
    private readonly List<MetricFamily> _families = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, (string Name, Func<CancellationToken, ValueTask> Collect)> _collectors = new();
    private readonly CounterFamily _collectorErrors;
    private long _nextCollector;

    public MetricsRegistry()
    {
        _collectorErrors = Counter(
            "appliance_metrics_collector_errors_total",
            "Scrapes in which a collector failed; the metrics it refreshes kept their previous values.",
            "collector");
    }

    public CounterFamily Counter(string name, string help, params string[] labelNames) =>
        Add(new CounterFamily(name, help, labelNames));

    public GaugeFamily Gauge(string name, string help, params string[] labelNames) =>
        Add(new GaugeFamily(name, help, labelNames));

    /// <param name="upperBounds">Bucket upper bounds in increasing order; the +Inf bucket is implied.</param>
    public HistogramFamily Histogram(string name, string help, IReadOnlyList<double> upperBounds, params string[] labelNames) =>
        Add(new HistogramFamily(name, help, upperBounds, labelNames));

    /// <summary>
    /// Adds a collector run before every scrape to refresh values kept elsewhere. Dispose the result to remove it
    /// (e.g. when the volume it reads is closed). A failing collector is counted and does not fail the scrape.
    /// </summary>
    public IDisposable AddCollector(string name, Func<CancellationToken, ValueTask> collect)
    {
        ArgumentNullException.ThrowIfNull(collect);
        var id = Interlocked.Increment(ref _nextCollector);
        _collectors[id] = (name, collect);
        return new CollectorRegistration(this, id);
    }

    /// <summary>Runs the collectors, then renders every family in registration order.</summary>
    public async Task<string> RenderAsync(CancellationToken ct)
    {
        foreach (var (_, (name, collect)) in _collectors.OrderBy(c => c.Key))
        {
            try
            {
                await collect(ct).ConfigureAwait(false);
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                _collectorErrors.WithLabels(name).Increment();
            }
        }
        ct.ThrowIfCancellationRequested();
        return Render();
    }

    /// <summary>Renders the current values without running collectors.</summary>
    public string Render()
    {
        MetricFamily[] families;
        lock (_lock)
            families = [.. _families];
        var text = new StringBuilder(4096);
        foreach (var family in families)
            family.Write(text);
        return text.ToString();
    }

    private T Add<T>(T family) where T : MetricFamily
    {
        lock (_lock)
        {
            if (!_names.Add(family.Name))
                throw new ArgumentException($"metric {family.Name} is already registered", nameof(family));
            _families.Add(family);
        }
        return family;
    }

    private sealed class CollectorRegistration(MetricsRegistry registry, long id) : IDisposable
    {
        public void Dispose() => registry._collectors.TryRemove(id, out _);
    }
}
