using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Protocols.WebDav.Tests.Clients;

/// <summary>litmus, the WebDAV conformance suite (Debian package litmus), against a running server: every test must pass, none skipped.</summary>
public sealed partial class LitmusTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Litmus_passes_every_suite_with_nothing_skipped()
    {
        Skip.IfNot(File.Exists("/usr/bin/litmus"), "litmus is not installed (Debian package litmus; .ci/run installs it)");
        await using var dav = await DavServer.StartAsync();
        // litmus leaves debug.log and child.log in its working directory.
        var work = Directory.CreateTempSubdirectory("litmus-").FullName;
        var start = new ProcessStartInfo("/usr/bin/litmus", ["-k", dav.BaseUri.ToString()])
        {
            WorkingDirectory = work,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["TESTS"] = "basic copymove props locks http" },
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        var text = await stdout + await stderr;
        output.WriteLine(text);
        Directory.Delete(work, recursive: true);
        var summaries = Summary().Matches(text);
        Assert.Equal(5, summaries.Count);
        foreach (Match m in summaries)
        {
            Assert.Equal("0", m.Groups["failed"].Value);
            Assert.True(m.Groups["skipped"].Success == false || m.Groups["skipped"].Value == "0", $"skipped tests in: {m.Value}");
        }
        Assert.DoesNotContain("SKIPPED", text);
        Assert.Equal(0, process.ExitCode);
    }

    [GeneratedRegex(@"<- summary for `(?<suite>\w+)': of (?<run>\d+) tests run: (?<passed>\d+) passed, (?<failed>\d+) failed\.(?: (?<skipped>\d+) skipped)?")]
    private static partial Regex Summary();
}
