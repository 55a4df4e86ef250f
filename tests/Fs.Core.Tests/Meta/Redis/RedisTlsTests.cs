using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Fs.Core.Meta.Redis;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Meta.Redis;

/// <summary>
/// rediss:// against a real redis-server that speaks TLS with a certificate from a private CA and requires client
/// certificates: the URL's tls-* parameters are what makes the connection work, and a missing one makes it fail.
/// </summary>
public sealed class RedisTlsTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("redis-tls-").FullName;
    private readonly int _tlsPort = RedisServer.FreePort();
    private RedisServer _server = null!;

    private string Ca => Path.Combine(_dir, "ca.crt");
    private string ClientCert => Path.Combine(_dir, "client.crt");
    private string ClientKey => Path.Combine(_dir, "client.key");

    public async Task InitializeAsync()
    {
        var notBefore = DateTimeOffset.UtcNow.AddDays(-1);
        var notAfter = DateTimeOffset.UtcNow.AddDays(1);
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=appliance test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(notBefore, notAfter);
        await File.WriteAllTextAsync(Ca, ca.ExportCertificatePem());
        await IssueAsync(ca, "CN=127.0.0.1", "1.3.6.1.5.5.7.3.1", Path.Combine(_dir, "server.crt"), Path.Combine(_dir, "server.key"), notBefore, notAfter, 1);
        await IssueAsync(ca, "CN=appliance", "1.3.6.1.5.5.7.3.2", ClientCert, ClientKey, notBefore, notAfter, 2);

        _server = await RedisServer.StartAsync(false,
            "--tls-port", _tlsPort.ToString(), "--tls-cert-file", Path.Combine(_dir, "server.crt"),
            "--tls-key-file", Path.Combine(_dir, "server.key"), "--tls-ca-cert-file", Ca, "--tls-auth-clients", "yes");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Url(string query) => $"rediss://127.0.0.1:{_tlsPort}/0?prefix=tls-{Guid.NewGuid():N}&{query}";

    [Fact]
    public async Task A_volume_is_formatted_and_used_over_tls_with_a_private_ca_and_a_client_certificate()
    {
        var url = Url($"tls-ca-cert-file={Ca}&tls-cert-file={ClientCert}&tls-key-file={ClientKey}");
        var storage = $"file://{_dir}/objects";
        await FileSystem.FormatAsync(new FormatOptions { Name = "tls", MetaUrl = url, StorageUrl = storage });
        await using var fs = await FileSystem.OpenAsync(new FileSystemOptions { MetaUrl = url, StorageUrl = storage });
        var file = (await fs.CreateAsync(Caller.Root, FsLimits.RootIno, "over-tls", 0x1A4, Fs.Core.Vfs.OpenFlags.ReadWrite)).Value;
        await fs.WriteAsync(file.Handle, 0, "sealed"u8.ToArray());
        await fs.ReleaseAsync(file.Handle);
        Assert.Equal(6, (await fs.LookupAsync(Caller.Root, FsLimits.RootIno, "over-tls")).Value.Size);
    }

    [Fact]
    public async Task A_server_certificate_from_an_unknown_ca_is_refused()
    {
        await using var engine = new RedisMetaEngine(Url($"tls-cert-file={ClientCert}&tls-key-file={ClientKey}"));
        var e = await Assert.ThrowsAsync<VolumeException>(async () => await engine.LoadFormatAsync(default));
        Assert.Contains($"127.0.0.1:{_tlsPort}", e.Message);
    }

    [Fact]
    public async Task Without_a_client_certificate_a_server_that_requires_one_refuses_the_connection()
    {
        await using var engine = new RedisMetaEngine(Url($"tls-ca-cert-file={Ca}"));
        await Assert.ThrowsAsync<VolumeException>(async () => await engine.LoadFormatAsync(default));
    }

    [Fact]
    public async Task Insecure_skip_verify_accepts_the_unknown_ca()
    {
        await using var engine = new RedisMetaEngine(Url($"insecure-skip-verify=true&tls-cert-file={ClientCert}&tls-key-file={ClientKey}"));
        Assert.Null(await engine.LoadFormatAsync(default));
    }

    [Theory]
    [InlineData("redis://h/0?tls-ca-cert-file=/etc/hostname")]
    [InlineData("rediss://h/0?tls-ca-cert-file=/no/such/ca.pem")]
    [InlineData("rediss://h/0?tls-cert-file=/etc/hostname")]
    [InlineData("rediss://h/0?insecure-skip-verify=maybe")]
    public void Tls_parameters_that_cannot_work_are_refused_when_parsed(string url) =>
        Assert.Throws<VolumeException>(() => RedisMetaUrl.Parse(url));

    private static async Task IssueAsync(X509Certificate2 ca, string subject, string usage, string certPath, string keyPath,
        DateTimeOffset notBefore, DateTimeOffset notAfter, byte serial)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        using var issued = request.Create(ca, notBefore, notAfter, [serial]);
        await File.WriteAllTextAsync(certPath, issued.ExportCertificatePem());
        await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
    }
}
