using System.CommandLine;
using Appliance.Hosting;
using Protocols.Fuse;

namespace Appliance.Cli;

/// <summary>The serve flags of the FUSE door, read into <see cref="FuseServiceOptions"/> (null when the door is off).</summary>
internal sealed class FuseFlags
{
    private readonly Option<string?> _mount = new("--mount")
    {
        Description = "Mount the volume at this directory through FUSE, or 'off' [default: DATA/mnt when FUSE is usable]",
        HelpName = "DIR|off",
    };

    private readonly Option<bool> _allowOther = new("--mount-allow-other") { Description = "Let users other than the one running the appliance use the mount (without root: needs user_allow_other in /etc/fuse.conf)" };
    private readonly Option<bool> _defaultPermissions = new("--mount-default-permissions") { Description = "Let the kernel check mode bits before asking the volume" };
    private readonly Option<double> _attrTimeout = new("--mount-attr-timeout") { Description = "Seconds the kernel may cache attributes and names", HelpName = "SECONDS", DefaultValueFactory = _ => 1.0 };

    public void AddTo(Command command)
    {
        command.Options.Add(_mount);
        command.Options.Add(_allowOther);
        command.Options.Add(_defaultPermissions);
        command.Options.Add(_attrTimeout);
    }

    public FuseServiceOptions? Read(ParseResult parse, string workingDirectory, string dataDirectory)
    {
        var given = parse.GetValue(_mount)?.Trim();
        if (string.Equals(given, "off", StringComparison.OrdinalIgnoreCase))
            return null;
        var timeout = parse.GetValue(_attrTimeout);
        if (timeout < 0 || double.IsNaN(timeout))
            throw new Configuration.InvalidSettingException("--mount-attr-timeout must be zero or more seconds");
        var mountPoint = given is null ? Path.Combine(dataDirectory, "mnt") : Path.GetFullPath(given, workingDirectory);
        return new FuseServiceOptions(new FuseMountOptions
        {
            MountPoint = mountPoint,
            AllowOther = parse.GetValue(_allowOther),
            DefaultPermissions = parse.GetValue(_defaultPermissions),
            AttrTimeout = TimeSpan.FromSeconds(timeout),
            EntryTimeout = TimeSpan.FromSeconds(timeout),
        }, Explicit: given is not null);
    }
}
