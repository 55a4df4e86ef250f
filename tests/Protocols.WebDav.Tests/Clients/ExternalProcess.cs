using System.Diagnostics;

namespace Protocols.WebDav.Tests.Clients;

/// <summary>Runs an external client to completion and returns what it printed.</summary>
internal static class ExternalProcess
{
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, string? stdin = null)
    {
        var start = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
            await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran longer than {timeout}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    public static async Task<string> CheckAsync(string file, IEnumerable<string> args, TimeSpan timeout, string? stdin = null)
    {
        var (code, output, errors) = await RunAsync(file, args, timeout, stdin);
        Assert.True(code == 0, $"{file} {string.Join(' ', args)} exited {code}: {output}{errors}");
        return output + errors;
    }
}
