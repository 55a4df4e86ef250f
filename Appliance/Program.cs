using System.Runtime.InteropServices;
using Appliance.Cli;

namespace Appliance;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Object-store reads and writes block a pool thread each; a server needs many in flight from the start rather
        // than waiting for the pool to grow one thread at a time.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));
        using var stop = new CancellationTokenSource();
        // SIGINT/SIGTERM cancel the running command; a command then finishes its work (serve flushes and closes the volume).
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
        return await ApplianceCli.RunAsync(args, Console.Out, Console.Error, stop.Token);

        void Cancel(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }
}
