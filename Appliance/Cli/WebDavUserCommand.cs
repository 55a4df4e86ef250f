using System.CommandLine;
using Protocols.WebDav;

namespace Appliance.Cli;

/// <summary><c>appliance webdav-user add NAME</c>: adds (or replaces) a WebDAV user in a users file, reading the password from stdin.</summary>
internal static class WebDavUserCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var name = new Argument<string>("name") { Description = "User name (no ':')" };
        var usersFile = new Option<string>("--users-file") { Description = "Users file to add to (serve takes it as --webdav-users)", HelpName = "FILE", Required = true };
        var uid = new Option<uint>("--uid") { Description = "Volume uid the user's requests act as", Required = true };
        var gid = new Option<uint>("--gid") { Description = "Volume gid the user's requests act as", Required = true };
        var groups = new Option<uint[]>("--groups") { Description = "Supplementary group ids", AllowMultipleArgumentsPerToken = true };

        var add = new Command("add", "Add a user, or set a new password and identity for an existing one; the password is read from stdin")
        {
            name, usersFile, uid, gid, groups,
        };
        add.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var password = await Console.In.ReadLineAsync(token).ConfigureAwait(false);
            if (string.IsNullOrEmpty(password))
            {
                await context.Error.WriteLineAsync("error: give the password on stdin (one line)").ConfigureAwait(false);
                return ExitCodes.Usage;
            }
            var file = Path.GetFullPath(parse.GetValue(usersFile)!, context.WorkingDirectory);
            var user = parse.GetValue(name)!;
            if (user.Length == 0 || user.Contains(':'))
            {
                await context.Error.WriteLineAsync("error: a user name cannot be empty or hold ':'").ConfigureAwait(false);
                return ExitCodes.Usage;
            }
            await WebDavUsers.AddOrReplaceAsync(file, user, password, parse.GetValue(uid), parse.GetValue(gid), parse.GetValue(groups), token).ConfigureAwait(false);
            await context.Output.WriteLineAsync($"{user} can now sign in (users file {file})").ConfigureAwait(false);
            return ExitCodes.Ok;
        }, ct));
        return new Command("webdav-user", "Manage the users of the WebDAV door") { add };
    }
}
