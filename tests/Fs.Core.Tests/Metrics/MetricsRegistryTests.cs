using Fs.Core.Metrics;

namespace Fs.Core.Tests.Metrics;

public sealed class MetricsRegistryTests
{
    [Fact]
    public void Label_values_and_help_with_quotes_backslashes_and_newlines_survive_a_strict_parse()
    {
        var registry = new MetricsRegistry();
        var counter = registry.Counter("test_paths_total", "Paths seen.\nOne per line, C:\\ style too.", "path");
        const string awkward = "dir \"quoted\"\\sub\nline";
        counter.WithLabels(awkward).Add(3);

        var families = PrometheusText.Parse(registry.Render());

        Assert.Equal("Paths seen.\nOne per line, C:\\ style too.", families["test_paths_total"].Help);
        Assert.Equal(3, families.Value("test_paths_total", ("path", awkward)));
    }

    [Fact]
    public void Histogram_buckets_are_cumulative_and_agree_with_count_and_sum()
    {
        var registry = new MetricsRegistry();
        var latency = registry.Histogram("test_latency_seconds", "Latency.", [0.001, 0.01, 0.1], "op");
        foreach (var seconds in new[] { 0.0005, 0.001, 0.005, 0.05, 0.5, 2 })
            latency.WithLabels("read").Observe(seconds);

        var families = PrometheusText.Parse(registry.Render());

        Assert.Equal("histogram", families["test_latency_seconds"].Type);
        // A bound is inclusive: 0.001 falls in the le="0.001" bucket.
        Assert.Equal(2, families.Value("test_latency_seconds_bucket", ("op", "read"), ("le", "0.001")));
        Assert.Equal(3, families.Value("test_latency_seconds_bucket", ("op", "read"), ("le", "0.01")));
        Assert.Equal(4, families.Value("test_latency_seconds_bucket", ("op", "read"), ("le", "0.1")));
        Assert.Equal(6, families.Value("test_latency_seconds_bucket", ("op", "read"), ("le", "+Inf")));
        Assert.Equal(6, families.Value("test_latency_seconds_count", ("op", "read")));
        Assert.Equal(2.5565, families.Value("test_latency_seconds_sum", ("op", "read"))!.Value, 9);
    }

    [Fact]
    public async Task Concurrent_increments_and_observations_lose_nothing()
    {
        var registry = new MetricsRegistry();
        var counter = registry.Counter("test_ops_total", "Ops.", "door");
        var histogram = registry.Histogram("test_op_seconds", "Op time.", HistogramFamily.LatencySeconds, "door");
        const int threads = 8, each = 20_000;

        await Task.WhenAll(Enumerable.Range(0, threads).Select(t => Task.Run(() =>
        {
            var door = t % 2 == 0 ? "nfs" : "webdav";
            for (var i = 0; i < each; i++)
            {
                counter.WithLabels(door).Increment();
                histogram.WithLabels(door).Observe(0.001);
            }
        })));

        var families = PrometheusText.Parse(registry.Render());
        Assert.Equal(threads / 2 * each, families.Value("test_ops_total", ("door", "nfs")));
        Assert.Equal(threads / 2 * each, families.Value("test_ops_total", ("door", "webdav")));
        Assert.Equal(threads / 2 * each, families.Value("test_op_seconds_count", ("door", "nfs")));
        Assert.Equal(threads / 2 * each * 0.001, families.Value("test_op_seconds_sum", ("door", "webdav"))!.Value, 6);
    }

    [Fact]
    public async Task A_failing_collector_is_counted_and_the_scrape_still_serves_the_rest()
    {
        var registry = new MetricsRegistry();
        var gauge = registry.Gauge("test_sessions", "Sessions.");
        using var good = registry.AddCollector("good", _ =>
        {
            gauge.Series.Set(4);
            return ValueTask.CompletedTask;
        });
        using var bad = registry.AddCollector("engine", _ => throw new IOException("engine down"));

        var families = PrometheusText.Parse(await registry.RenderAsync(CancellationToken.None));

        Assert.Equal(4, families.Value("test_sessions"));
        Assert.Equal(1, families.Value("appliance_metrics_collector_errors_total", ("collector", "engine")));
    }

    [Fact]
    public async Task A_removed_collector_no_longer_runs()
    {
        var registry = new MetricsRegistry();
        var runs = 0;
        var registration = registry.AddCollector("volume", _ =>
        {
            runs++;
            return ValueTask.CompletedTask;
        });
        await registry.RenderAsync(CancellationToken.None);
        registration.Dispose();
        await registry.RenderAsync(CancellationToken.None);
        Assert.Equal(1, runs);
    }

    [Fact]
    public void A_counter_advanced_to_a_total_counted_elsewhere_never_goes_back()
    {
        var registry = new MetricsRegistry();
        var hits = registry.Counter("test_hits_total", "Hits.").Series;
        hits.AdvanceTo(10);
        hits.AdvanceTo(7);
        Assert.Equal(10, hits.Value);
        Assert.Throws<ArgumentOutOfRangeException>(() => hits.Add(-1));
    }

    [Fact]
    public void Unlabeled_families_show_a_zero_sample_from_the_first_scrape()
    {
        var registry = new MetricsRegistry();
        registry.Counter("test_requests_total", "Requests.");
        registry.Histogram("test_wait_seconds", "Waits.", [1]);

        var families = PrometheusText.Parse(registry.Render());

        Assert.Equal(0, families.Value("test_requests_total"));
        Assert.Equal(0, families.Value("test_wait_seconds_count"));
        Assert.Equal(0, families.Value("test_wait_seconds_bucket", ("le", "+Inf")));
    }

    [Fact]
    public void Bad_names_duplicate_families_and_wrong_label_counts_are_refused()
    {
        var registry = new MetricsRegistry();
        var ops = registry.Counter("test_ops_total", "Ops.", "door", "op");
        Assert.Throws<ArgumentException>(() => registry.Counter("test_ops_total", "Again."));
        Assert.Throws<ArgumentException>(() => registry.Counter("2fast", "Bad name."));
        Assert.Throws<ArgumentException>(() => registry.Gauge("test_gauge", "Reserved label.", "__name"));
        Assert.Throws<ArgumentException>(() => registry.Histogram("test_h", "le is the histogram's.", [1], "le"));
        Assert.Throws<ArgumentException>(() => registry.Histogram("test_h2", "Bounds must increase.", [1, 1]));
        Assert.Throws<ArgumentException>(() => ops.WithLabels("nfs"));
        Assert.Throws<ArgumentException>(() => ops.Series);
    }
}

/// <summary>The test parser must itself reject what a scraper would misread, or the tests above prove nothing.</summary>
public sealed class PrometheusTextParserTests
{
    [Theory]
    [InlineData("a_total 1\n# TYPE a_total counter\n", "TYPE after samples")]
    [InlineData("# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na 2\n", "family split apart")]
    [InlineData("# TYPE a counter\na{x=\"\\t\"} 1\n", "invalid escape")]
    [InlineData("# TYPE a counter\na{x=\"1\"} 1\na{x=\"1\"} 2\n", "duplicate series")]
    [InlineData("# TYPE a counter\na -1\n", "negative counter")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 1\nh_count 4\n", "+Inf differs from count")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "not cumulative")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "no +Inf bucket")]
    [InlineData("# TYPE a counter\na 1", "no final line feed")]
    [InlineData("# TYPE a counter\na{x=\"1\",x=\"2\"} 1\n", "label twice")]
    public void Malformed_expositions_are_rejected(string text, string why)
    {
        var e = Assert.Throws<FormatException>(() => PrometheusText.Parse(text));
        Assert.False(string.IsNullOrEmpty(e.Message), why);
    }
}
