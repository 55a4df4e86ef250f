using System.CommandLine;
using Appliance.Configuration;
using Appliance.Hosting;
using Protocols.Nfs;

namespace Appliance.Cli;

/// <summary>The serve flags of the NFS door, read into <see cref="NfsServerOptions"/> (null when the door is off).</summary>
internal sealed class NfsFlags
{
    private readonly Option<string?> _listen = new("--nfs") { Description = "NFS door address and port, or 'off' [default: 127.0.0.1:2049]", HelpName = "ADDR:PORT|off" };
    private readonly Option<string?> _portmap = new("--portmap") { Description = "Run a portmapper on port 111 when it is free [default: on]", HelpName = "on|off" };
    private readonly Option<int?> _mountPort = new("--nfs-mountport") { Description = "A separate port for the MOUNT protocol [default: the NFS port]", HelpName = "PORT" };

    public void AddTo(Command command)
    {
        command.Options.Add(_listen);
        command.Options.Add(_portmap);
        command.Options.Add(_mountPort);
    }

    public NfsServerOptions? Read(ParseResult parse, Settings settings) =>
        NfsSettings.Resolve(settings, parse.GetValue(_listen), parse.GetValue(_portmap), parse.GetValue(_mountPort));
}
