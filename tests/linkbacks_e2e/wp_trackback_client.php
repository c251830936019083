<?php
/**
 * WordPress's own trackback sender (Debian's `wordpress` package, 6.1) under php-cli.
 *
 * Usage: php wp_trackback_client.php TRACKBACK_URL PERMALINK BLOG_NAME ID TITLE CONTENT [EXCERPT]
 * Runs WordPress's trackback_url_list(), which forms the excerpt from the post as WordPress does
 * (strip_tags, a byte cut at 252 plus &hellip;) and calls trackback(), which POSTs through
 * WP_Http (wp_safe_remote_post). Prints the HTTP status and the body it was answered with.
 * WordPress's database and options are stubbed; its HTTP, hooks and formatting code is its own.
 */

if ( $argc < 7 || $argc > 8 ) {
	fwrite( STDERR, "usage: php wp_trackback_client.php TRACKBACK_URL PERMALINK BLOG_NAME ID TITLE CONTENT [EXCERPT]\n" );
	exit( 2 );
}
[ , $tb_url, $permalink, $blog_name, $id, $title, $content ] = $argv;
$excerpt = $argv[7] ?? '';

define( 'ABSPATH', rtrim( getenv( 'WORDPRESS_DIR' ) ?: '/usr/share/wordpress', '/' ) . '/' );
define( 'WPINC', 'wp-includes' );

require ABSPATH . WPINC . '/version.php';
require ABSPATH . WPINC . '/load.php';
require ABSPATH . WPINC . '/plugin.php';
require ABSPATH . WPINC . '/class-wp-error.php';
require ABSPATH . WPINC . '/functions.php';
require ABSPATH . WPINC . '/formatting.php';
require ABSPATH . WPINC . '/http.php';
require ABSPATH . WPINC . '/class-wp-http.php';
require ABSPATH . WPINC . '/class-wp-http-response.php';
require ABSPATH . WPINC . '/class-wp-http-requests-response.php';
require ABSPATH . WPINC . '/class-wp-http-requests-hooks.php';
require ABSPATH . WPINC . '/class-wp-http-proxy.php';
require ABSPATH . WPINC . '/class-wp-http-cookie.php';
require ABSPATH . WPINC . '/comment.php';
require ABSPATH . WPINC . '/post.php';
require ABSPATH . WPINC . '/class-wp-post.php';
require ABSPATH . WPINC . '/class-wpdb.php';
require ABSPATH . WPINC . '/cache.php';
require ABSPATH . WPINC . '/meta.php';
require ABSPATH . WPINC . '/taxonomy.php';

/** The database and options WordPress would read: one post (in its object cache), the blog's name. */
wp_cache_init();
wp_cache_add(
	(int) $id,
	(object) array(
		'ID'           => (int) $id,
		'post_title'   => $title,
		'post_content' => $content,
		'post_excerpt' => $excerpt,
		'post_type'    => 'post',
		'post_status'  => 'publish',
		'post_parent'  => 0,
		'filter'       => 'raw',
	),
	'posts'
);
function get_permalink( $post = 0 ) {
	return $GLOBALS['argv'][2];
}
function get_bloginfo( $show = '' ) {
	return 'url' === $show ? 'http://sender.example' : $GLOBALS['wp_version'];
}
function home_url( $path = '' ) {
	return 'http://sender.example' . $path;
}
function get_home_url( $blog_id = null, $path = '' ) {
	return home_url( $path );
}

add_filter( 'get_post_metadata', '__return_empty_string' );
add_filter(
	'pre_option_blogname',
	function () use ( $blog_name ) {
		return $blog_name;
	}
);

/** Answers are kept here: trackback() itself discards them. */
$GLOBALS['answers'] = array();
add_action(
	'http_api_debug',
	function ( $response, $context, $class, $args, $url ) {
		$GLOBALS['answers'][] = $response;
	},
	10,
	5
);

class Tb_Db {
	public $posts = 'wp_posts';
	public function prepare( $query, ...$args ) {
		return $query;
	}
	public function query( $query ) {
		return 1;
	}
}
$GLOBALS['wpdb'] = new Tb_Db();

/** The test's server is on loopback at its own port: let wp_safe_remote_post() reach it. */
add_filter( 'http_request_host_is_external', '__return_true' );
add_filter(
	'http_allowed_safe_ports',
	function ( $ports ) use ( $tb_url ) {
		$ports[] = (int) parse_url( $tb_url, PHP_URL_PORT );
		return $ports;
	}
);

trackback_url_list( $tb_url, (int) $id );

foreach ( $GLOBALS['answers'] as $response ) {
	if ( is_wp_error( $response ) ) {
		echo 'WP_ERROR ' . $response->get_error_message() . "\n";
		exit( 1 );
	}
	echo wp_remote_retrieve_response_code( $response ) . "\n" . wp_remote_retrieve_body( $response );
}
exit( count( $GLOBALS['answers'] ) === 1 ? 0 : 1 );
