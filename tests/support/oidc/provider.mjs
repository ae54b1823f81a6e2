// A real OpenID Connect provider for the tests, on 127.0.0.1 only.
// Config comes from a JSON file named by OIDC_CONFIG: {port, clients, users, jwks, idTokenTtl}.
// users: {login: {email, email_verified, name, groups, csm_book}}; the login form accepts any password.
import fs from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.env.OIDC_CONFIG, 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: config.jwks,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups', 'csm_book'],
  },
  // Put the scope's claims in the ID token too: Streamlit reads the person from the ID token.
  conformIdTokenClaims: false,
  cookies: { keys: ['csai-test-cookie-key-0123456789'] },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  ttl: { IdToken: config.idTokenTtl || 3600 },
  async findAccount(ctx, id) {
    const user = config.users[id];
    if (!user) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...user }; } };
  },
});

provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});
