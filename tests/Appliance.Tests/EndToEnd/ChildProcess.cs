using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;

namespace Appliance.Tests.EndToEnd;

/// <summary>A built program of this solution run with <c>dotnet exec</c> (or another program), its output lines collected as they come.</summary>
public sealed partial class ChildProcess : IAsyncDisposable
{
    private const int SIGTERM = 15;

    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _transcript = [];
    private int _openStreams = 2;

    private ChildProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public int ExitCode => _process.ExitCode;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything printed so far on both streams, for assertion messages.</summary>
    public string Transcript
    {
        get
        {
            lock (_transcript)
                return string.Join('\n', _transcript);
        }
    }

    /// <summary>Starts <paramref name="assembly"/> (a dll next to the test assembly) with a clean APPLIANCE_* environment.</summary>
    public static ChildProcess Start(string assembly, string workingDirectory, params string[] args) =>
        StartProgram(DotnetHost(), workingDirectory, ["exec", Path.Combine(AppContext.BaseDirectory, assembly), .. args]);

    /// <summary>
    /// Starts <paramref name="assembly"/> as the unprivileged user <paramref name="uid"/>:<paramref name="gid"/> (through
    /// setpriv, which execs in place, so the process is still the one signalled), with its home in the working directory.
    /// </summary>
    public static ChildProcess StartAs(uint uid, uint gid, string assembly, string workingDirectory, params string[] args) =>
        Launch("setpriv", workingDirectory, home: workingDirectory,
            [$"--reuid={uid}", $"--regid={gid}", "--clear-groups", "--", DotnetHost(), "exec", Path.Combine(AppContext.BaseDirectory, assembly), .. args]);

    /// <summary>Starts <paramref name="program"/> (found on PATH) with a clean APPLIANCE_* environment.</summary>
    public static ChildProcess StartProgram(string program, string workingDirectory, params string[] args) =>
        Launch(program, workingDirectory, home: null, args);

    private static ChildProcess Launch(string program, string workingDirectory, string? home, string[] args)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (home is not null)
            info.Environment["HOME"] = home;
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("APPLIANCE_", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(key);

        var child = new ChildProcess(new Process { StartInfo = info, EnableRaisingEvents = true });
        child._process.OutputDataReceived += (_, e) => child.Receive(e.Data);
        child._process.ErrorDataReceived += (_, e) => child.Receive(e.Data);
        child._process.Start();
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits for the next line (on either stream) that matches; fails the test with the transcript on timeout or exit.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (await _lines.Reader.WaitToReadAsync(cts.Token))
            {
                while (_lines.Reader.TryRead(out var line))
                {
                    if (match(line))
                        return line;
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Assert.Fail($"no matching line within {timeout.TotalSeconds:0} s; output so far:\n{Transcript}");
        }
        Assert.Fail($"process exited (code {ExitCode}) without a matching line; output:\n{Transcript}");
        return "";
    }

    /// <summary>Writes one line to the process's standard input.</summary>
    public async Task SendLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Asks for a clean shutdown, as systemd and Ctrl+C do (Process.Kill sends SIGKILL, which is the other test).</summary>
    public void Terminate()
    {
        if (kill(_process.Id, SIGTERM) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>SIGKILL: the process dies at once, mid-write, with nothing flushed.</summary>
    public void Kill() => _process.Kill(entireProcessTree: false);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Assert.Fail($"process did not exit within {timeout.TotalSeconds:0} s; output:\n{Transcript}");
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private void Receive(string? line)
    {
        if (line is null)
        {
            if (Interlocked.Decrement(ref _openStreams) == 0)
                _lines.Writer.TryComplete();
            return;
        }
        lock (_transcript)
            _transcript.Add(line);
        _lines.Writer.TryWrite(line);
    }

    /// <summary>The dotnet host running this test, so the child runs on the same runtime.</summary>
    private static string DotnetHost()
    {
        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
