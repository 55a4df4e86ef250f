namespace Appliance.Cli;

/// <summary>Process exit codes of every command.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The command ran and found something wrong (fsck problems, a path that does not exist).</summary>
    public const int Problems = 1;

    /// <summary>The command could not run as asked: bad flags, bad settings, a volume that cannot be opened.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted by SIGINT/SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}
