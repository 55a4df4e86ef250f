using System.Net;
using Xunit.Abstractions;

namespace Protocols.WebDav.Tests.Clients;

/// <summary>A real browser (Debian package chromium, headless) rendering the collection listing: hostile names stay text.</summary>
public sealed class ChromiumTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Headless_chromium_shows_a_script_name_as_text_and_runs_no_script()
    {
        Skip.IfNot(File.Exists("/usr/bin/chromium"), "chromium is not installed (Debian package chromium; .ci/run installs it)");
        await using var dav = await DavServer.StartAsync();
        var hostile = "<script>document.title='pwned'</script>".Replace('/', '|');
        Assert.Equal(HttpStatusCode.Created, (await dav.SendAsync("MKCOL", "/" + Uri.EscapeDataString(hostile))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await dav.PutAsync("/" + Uri.EscapeDataString("<img src=x onerror=alert(1)>.txt"), [1])).StatusCode);

        var profile = Directory.CreateTempSubdirectory("chromium-").FullName;
        try
        {
            var (code, dom, _) = await ExternalProcess.RunAsync("/usr/bin/chromium",
                ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", $"--user-data-dir={profile}",
                 "--dump-dom", dav.BaseUri.ToString()], TimeSpan.FromMinutes(2));
            output.WriteLine(dom);
            Assert.Equal(0, code);
            // The DOM keeps the names as text nodes: escaped when serialised, and no element was made of them.
            Assert.Contains("&lt;script&gt;document.title='pwned'&lt;|script&gt;/", dom);
            Assert.Contains("&lt;img src=x onerror=alert(1)&gt;.txt", dom);
            Assert.DoesNotContain("<script>", dom);
            Assert.DoesNotContain("<img", dom);
            Assert.DoesNotContain("pwned</title>", dom);
            Assert.Contains("<title>Index of /</title>", dom);
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }
    }
}
