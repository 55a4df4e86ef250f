using System.Net;
using System.Text.RegularExpressions;
using Fs.Core.Cache;
using Fs.Core.Tests.Metrics;
using Fs.Core.Vfs;

namespace Appliance.Tests.EndToEnd;

/// <summary><c>appliance serve --admin</c> as an operator runs it: the endpoint named in the log answers probes and scrapes.</summary>
public sealed partial class AdminEndpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("appliance-admin-e2e-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Serve_answers_healthz_and_metrics_on_the_admin_port_and_admin_off_opens_none()
    {
        await using (var serve = ChildProcess.Start("appliance.dll", _dir, "serve", "--admin", "127.0.0.1:0", "--webdav", "off", "--nfs", "off"))
        {
            var line = await serve.WaitForLineAsync(l => l.Contains("admin endpoint on ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            var address = new Uri(AdminLine().Match(line).Groups["url"].Value);
            await serve.WaitForLineAsync(l => l.Contains("ready: volume ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

            using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
            using var health = await http.GetAsync("/healthz");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            var families = PrometheusText.Parse(await http.GetStringAsync("/metrics"));
            // Opening the volume took metadata round trips: reading the format and registering the session.
            Assert.Equal(1, families.Value("appliance_meta_request_duration_seconds_count", ("op", "register_session")));
            Assert.Equal(1, families.Value("appliance_sessions"));
            Assert.Contains("appliance_build_info", families.Keys);
            // Without --memory-cache the memory cache gets an eighth of the machine's memory (less only while it is short).
            var machine = SystemMemoryGauge.Instance.Read()!.Value;
            var limit = families.Value("appliance_block_cache_limit_bytes");
            if (machine.AvailableBytes > machine.TotalBytes / 4)
                Assert.Equal(FileSystemOptions.MemoryCacheFor(machine.TotalBytes), limit);
            else
                Assert.InRange(limit!.Value, 32L << 20, FileSystemOptions.MemoryCacheFor(machine.TotalBytes));

            serve.Terminate();
            Assert.Equal(0, await serve.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        await using (var quiet = ChildProcess.Start("appliance.dll", _dir, "serve", "--admin", "off", "--webdav", "off", "--nfs", "off"))
        {
            await quiet.WaitForLineAsync(l => l.Contains("ready: volume ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            Assert.DoesNotContain("admin endpoint on", quiet.Transcript, StringComparison.Ordinal);
            quiet.Terminate();
            Assert.Equal(0, await quiet.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
    }

    [GeneratedRegex(@"admin endpoint on (?<url>http://\S+):")]
    private static partial Regex AdminLine();
}
