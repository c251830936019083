<?php
/**
 * WordPress's own XML-RPC client (IXR, from Debian's `wordpress` package) sending one pingback.
 *
 * Usage: php wp_ixr_client.php ENDPOINT_URL SOURCE_URL TARGET_URL
 * Prints the success string, or "FAULT <code> <message>" (exit 1). Timeout 3 s, as WordPress's
 * pingback() uses; override with IXR_TIMEOUT_S. WORDPRESS_DIR overrides the install directory.
 */

if ( $argc !== 4 ) {
	fwrite( STDERR, "usage: php wp_ixr_client.php ENDPOINT_URL SOURCE_URL TARGET_URL\n" );
	exit( 2 );
}

define( 'ABSPATH', rtrim( getenv( 'WORDPRESS_DIR' ) ?: '/usr/share/wordpress', '/' ) . '/' );
define( 'WPINC', 'wp-includes' );

/** IXR asks WordPress's filter API for limits; without WordPress, every filter is the identity. */
function apply_filters( $tag, $value, ...$args ) {
	return $value;
}

require_once ABSPATH . WPINC . '/class-IXR.php';

$timeout = (int) ( getenv( 'IXR_TIMEOUT_S' ) ?: 3 );
$client  = new IXR_Client( $argv[1], false, 80, $timeout );
$client->useragent .= ' -- linkbridge interop test';

if ( ! $client->query( 'pingback.ping', $argv[2], $argv[3] ) ) {
	echo 'FAULT ' . $client->getErrorCode() . ' ' . $client->getErrorMessage() . "\n";
	exit( 1 );
}

$response = $client->getResponse();
echo ( is_string( $response ) ? $response : var_export( $response, true ) ) . "\n";
exit( 0 );
