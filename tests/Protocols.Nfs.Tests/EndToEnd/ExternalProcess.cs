using System.Diagnostics;

namespace Protocols.Nfs.Tests.EndToEnd;

/// <summary>Runs a real client program (libnfs tools, the VM harness) and captures what it printed.</summary>
public static class ExternalProcess
{
    public sealed record Outcome(int ExitCode, string Output, TimeSpan Elapsed);

    public static async Task<Outcome> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, string? stdoutFile = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout;
        if (stdoutFile is not null)
        {
            await using (var target = File.Create(stdoutFile))
                await process.StandardOutput.BaseStream.CopyToAsync(target);
            stdout = "";
        }
        else
        {
            stdout = await process.StandardOutput.ReadToEndAsync();
        }
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}");
        }
        return new Outcome(process.ExitCode, stdout + await stderr, watch.Elapsed);
    }

    public static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, program)));
}
