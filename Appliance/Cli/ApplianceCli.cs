using System.CommandLine;

namespace Appliance.Cli;

/// <summary>The <c>appliance</c> command line: the command tree, and parsing with the CLI's exit-code policy.</summary>
public static class ApplianceCli
{
    public static RootCommand Build()
    {
        var globals = new GlobalOptions();
        var root = new RootCommand("The Appliance: one volume (metadata in a database, data in an object store) served over NFS, WebDAV and FUSE.");
        globals.AddTo(root);
        root.Subcommands.Add(FormatCommand.Create(globals));
        root.Subcommands.Add(ServeCommand.Create(globals));
        root.Subcommands.Add(StatusCommand.Create(globals));
        root.Subcommands.Add(InfoCommand.Create(globals));
        root.Subcommands.Add(FsckCommand.Create(globals));
        root.Subcommands.Add(GcCommand.Create(globals));
        root.Subcommands.Add(DumpCommand.Create(globals));
        root.Subcommands.Add(LoadCommand.Create(globals));
        root.Subcommands.Add(ConfigCommand.Create(globals));
        root.Subcommands.Add(RestoreCommand.Create(globals));
        root.Subcommands.Add(WarmupCommand.Create(globals));
        root.Subcommands.Add(BenchCommand.Create(globals));
        root.Subcommands.Add(DestroyCommand.Create(globals));
        root.Subcommands.Add(WebDavUserCommand.Create(globals));
        return root;
    }

    /// <summary>
    /// Parses and runs. Parse errors print every message and exit 2 (System.CommandLine's own handler would exit 1,
    /// which scripts could not tell from "problems found"). <paramref name="ct"/> is the caller's SIGINT/SIGTERM.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var parse = Build().Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
                await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            await error.WriteLineAsync("Run 'appliance --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        var invocation = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            // Termination signals are the caller's (Program) and the generic host's business; System.CommandLine's
            // handler would kill the process after a timeout, cutting short the flush of buffered writes.
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        };
        return await parse.InvokeAsync(invocation, ct).ConfigureAwait(false);
    }
}
