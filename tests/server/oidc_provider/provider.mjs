// A real OpenID Provider for the tests: panva/oidc-provider (OpenID Certified), its own
// development login form (devInteractions: any login name with any password signs in as that
// account) and one static confidential client.
// Usage: node provider.mjs <port> <client_id> <client_secret> <redirect_uri>[,<redirect_uri>...]
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUris] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris.split(','),
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name'] },
  // the account "<name>" has <name>@example.test and preferred_username "<name>"
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: id, email: `${id}@example.test`, email_verified: true };
      },
    };
  },
  cookies: { keys: ['trackflow-tests-only'] },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
