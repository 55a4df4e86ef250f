using System.CommandLine;
using Appliance.Configuration;
using Appliance.Hosting;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Logging;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary>What one command invocation works with: resolved settings, the volume's location, logging and the console.</summary>
internal sealed class CommandContext : IAsyncDisposable
{
    private readonly Serilog.Core.Logger _logger;
    private readonly GlobalOptions _globals;

    private CommandContext(ParseResult parse, GlobalOptions globals, TextWriter output, TextWriter error)
    {
        Parse = parse;
        Output = output;
        Error = error;
        WorkingDirectory = Directory.GetCurrentDirectory();
        Settings = new Settings(ApplianceConfiguration.Load(WorkingDirectory));
        _globals = globals;
        _logger = ApplianceLogging.CreateLogger(Settings, parse.GetValue(globals.LogLevel), parse.GetValue(globals.LogFile), LevelSwitch);
        LoggerFactory = new SerilogLoggerFactory(_logger);
        Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
    }

    public ParseResult Parse { get; }

    public TextWriter Output { get; }

    public TextWriter Error { get; }

    public string WorkingDirectory { get; }

    public Settings Settings { get; }

    /// <summary>Where the volume is, from --data/--meta/--storage (and --cache-dir for commands that have one) over configuration.</summary>
    public VolumeLocation ResolveLocation(string? cacheDirFlag = null) =>
        VolumeLocation.Resolve(
            Settings.Get(Parse.GetValue(_globals.Data), SettingKeys.Data),
            Settings.Get(Parse.GetValue(_globals.Meta), SettingKeys.Meta),
            Settings.Get(Parse.GetValue(_globals.Storage), SettingKeys.Storage),
            Settings.Get(cacheDirFlag, SettingKeys.CacheDir),
            WorkingDirectory);

    public Serilog.ILogger Logger => _logger;

    /// <summary>The logger's minimum level, changeable while the command runs (serve's admin endpoint does).</summary>
    public Serilog.Core.LoggingLevelSwitch LevelSwitch { get; } = new();

    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Spectre console over the command's output, for tables and progress.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>
    /// Runs a command body with the error policy of the CLI: operator mistakes (bad settings, a volume that cannot be
    /// opened) are one line on standard error and exit code 2, never a stack trace; anything else is logged as a crash.
    /// </summary>
    public static async Task<int> RunAsync(ParseResult parse, GlobalOptions globals, Func<CommandContext, CancellationToken, Task<int>> body, CancellationToken ct)
    {
        var output = parse.InvocationConfiguration.Output;
        var error = parse.InvocationConfiguration.Error;
        CommandContext? context = null;
        try
        {
            context = new CommandContext(parse, globals, output, error);
            return await body(context, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is VolumeException or InvalidSettingException)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await error.WriteLineAsync("interrupted").ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }
        catch (Exception e) when (context is not null)
        {
            context.Logger.Fatal(e, "{Command} failed", parse.CommandResult.Command.Name);
            return ExitCodes.Problems;
        }
        finally
        {
            if (context is not null)
                await context.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        LoggerFactory.Dispose();
        await _logger.DisposeAsync().ConfigureAwait(false);
    }
}
