using Azure.Identity;
using Azure.Messaging.ServiceBus;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.EntityFrameworkCore;
using Microsoft.Identity.Web;
using Orders.Api.Infrastructure;

var builder = WebApplication.CreateBuilder(args);

// Key Vault is the source of truth for secrets outside Development.
if (!builder.Environment.IsDevelopment())
{
    var vaultUri = new Uri(builder.Configuration["KeyVault:VaultUri"]!);
    builder.Configuration.AddAzureKeyVault(vaultUri, new DefaultAzureCredential());
}

builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
    .AddMicrosoftIdentityWebApi(builder.Configuration.GetSection("AzureAd"));

builder.Services.AddDbContext<OrdersDbContext>(options =>
    options.UseSqlServer(builder.Configuration.GetConnectionString("OrdersDb")));

builder.Services.AddSingleton(sp =>
{
    var connectionString = builder.Configuration.GetConnectionString("ServiceBus");
    if (string.IsNullOrEmpty(connectionString))
    {
        var ns = Environment.GetEnvironmentVariable("SERVICEBUS_NAMESPACE") ?? "sb-orders-prod.servicebus.windows.net";
        return new ServiceBusClient(ns, new DefaultAzureCredential());
    }
    return new ServiceBusClient(connectionString);
});

builder.Services.AddSingleton<CosmosOrderRepository>();
builder.Services.AddControllers();
builder.Services.AddHealthChecks();

var app = builder.Build();

var seedPassword = Environment.GetEnvironmentVariable("SEED_ADMIN_PASSWORD");
if (app.Environment.IsDevelopment() && !string.IsNullOrWhiteSpace(seedPassword))
{
    await DevSeeder.RunAsync(app.Services, adminPassword: seedPassword);
}

app.UseHttpsRedirection();
app.UseAuthentication();
app.UseAuthorization();
app.MapControllers();
app.MapHealthChecks("/healthz");

app.MapGet("/whoami", (HttpContext ctx) =>
{
    var token = ctx.Request.Headers.Authorization.ToString();
    return Results.Ok(new
    {
        name = ctx.User.Identity?.Name,
        tokenType = token.StartsWith("Bearer ") ? "Bearer" : "none",
    });
}).RequireAuthorization();

app.Run();
